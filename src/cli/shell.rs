//! Fitting the shell: shell completions, man pages, and colour.
//!
//! Colour follows `--color auto|always|never`; with `auto` (the default) it is used only when
//! stdout is a terminal, `NO_COLOR` is unset (or `CLICOLOR_FORCE` forces it). Styles are put
//! in by the human renderers only and stripped by the output stream when colour is off, so
//! JSON, Markdown, HTML and piped output never carry an escape sequence.

use std::path::PathBuf;

use clap::{CommandFactory, ValueEnum};

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorWhen {
    /// When stdout is a terminal and `NO_COLOR` is not set (`CLICOLOR_FORCE` forces it).
    #[default]
    Auto,
    /// Always, even when piped.
    Always,
    /// Never.
    Never,
}

/// Sets the colour choice for everything printed afterwards.
pub fn set_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// `rlcm completions SHELL`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// `rlcm man [--dir DIR]`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `rlcm.1` and one page per subcommand (`rlcm-plan.1`, `rlcm-connector-release.1`,
    /// ...) into DIR, instead of printing `rlcm.1`.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the completion script for a shell.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "rlcm", &mut buf);
    super::emit_bytes(&buf)?;
    Ok(super::EXIT_OK)
}

/// Every man page: (file name, roff bytes), the main page first.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{prefix}-{}", sub.get_name());
            let page = sub
                .clone()
                .display_name(name.clone())
                .bin_name(name.replace('-', " "));
            let mut buf = Vec::new();
            clap_mangen::Man::new(page).title(name.clone()).render(&mut buf)?;
            out.push((format!("{name}.1"), buf));
            walk(sub, &name, out)?;
        }
        Ok(())
    }
    let mut cmd = super::Cli::command();
    cmd.build();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    out.push(("rlcm.1".to_string(), buf));
    walk(&cmd, "rlcm", &mut out)?;
    Ok(out)
}

/// Prints `rlcm.1`, or writes every page into `--dir`.
pub fn man(args: &ManArgs) -> anyhow::Result<i32> {
    let pages = man_pages()?;
    match &args.dir {
        None => {
            if let Some((_, main)) = pages.first() {
                super::emit_bytes(main)?;
            }
        }
        Some(dir) => {
            rlcm::fsutil::create_dir_all(dir)?;
            for (name, bytes) in &pages {
                rlcm::fsutil::write_atomic(&dir.join(name), bytes)?;
            }
            eprintln!("Wrote {} man pages to {}.", pages.len(), dir.display());
        }
    }
    Ok(super::EXIT_OK)
}

/// The styles of human output (shown only when colour is on).
pub(crate) mod style {
    use anstyle::{AnsiColor, Color, Style};

    /// Blocked, breaking, removed.
    pub const BAD: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Red))).bold();
    /// Restarts, moves, warnings.
    pub const WARN: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));
    /// Ready, applied, added.
    pub const GOOD: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Green)));

    /// `text` in `style`.
    pub fn paint(style: Style, text: &str) -> String {
        format!("{style}{text}{style:#}")
    }

    /// The style of an impact severity.
    pub fn severity(s: &str) -> Style {
        match s {
            "breaking" => BAD,
            "restart" => WARN,
            _ => Style::new(),
        }
    }
}
