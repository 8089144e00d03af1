//! `workato-emulator --env DIR --listen 127.0.0.1:0 --token TOKEN ...`: serves an rlcm
//! environment as a Workato workspace. The first stdout line is `listening on http://HOST:PORT`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use workato_emulator::{Config, Fault, RateLimits};

/// A local stand-in for the Workato Developer API, serving an rlcm environment as a workspace.
#[derive(Parser)]
#[command(name = "workato-emulator", version)]
struct Args {
    /// The rlcm environment to serve (made with `rlcm init`).
    #[arg(long)]
    env: PathBuf,
    /// Where to listen (port 0: any free port; the address taken is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The API token clients must send as `Authorization: Bearer TOKEN`.
    #[arg(long, env = "WORKATO_EMULATOR_TOKEN", hide_env_values = true)]
    token: String,
    /// The workspace name users/me reports (default: the environment's name).
    #[arg(long)]
    name: Option<String>,
    /// The workspace id users/me reports (default: the environment's id).
    #[arg(long)]
    id: Option<u64>,
    /// How many status polls answer `in_progress` before the final status.
    #[arg(long, default_value_t = 2)]
    poll_delay: u32,
    /// Workato's documented rate limits (429 beyond them), or none.
    #[arg(long, value_enum, default_value_t = RateLimits::Documented)]
    rate_limits: RateLimits,
    /// A fault to inject, KIND:RATE with RATE from 0 to 1 (repeatable). Kinds: 429, 500, slow,
    /// drop-download, truncate-download, expire-download.
    #[arg(long = "fault", value_name = "KIND:RATE")]
    faults: Vec<Fault>,
    /// Seed of the fault draws: the same seed and the same requests give the same faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Limit the 429, 500 and slow faults to API paths starting with PREFIX (repeatable),
    /// e.g. `/api/packages/import/`.
    #[arg(long = "fault-on", value_name = "PREFIX")]
    fault_on: Vec<String>,
    /// How long a `slow` answer waits, in seconds.
    #[arg(long, default_value_t = 5)]
    slow_seconds: u64,
    /// How long a signed download URL is valid, in seconds.
    #[arg(long, default_value_t = 10)]
    url_ttl: u64,
}

fn main() -> std::process::ExitCode {
    // `RLCM_NOW` fixes the clock (README, "Guarantees"); the library reads no variable for it.
    rlcm::env::fix_clock_from(std::env::var("RLCM_NOW").ok().as_deref());
    let args = Args::parse();
    if args.token.is_empty() {
        let _ = writeln!(std::io::stderr(), "workato-emulator: --token must not be empty");
        return std::process::ExitCode::from(2);
    }
    let mut config = Config::new(args.env, args.listen, args.token);
    config.name = args.name;
    config.id = args.id;
    config.poll_delay = args.poll_delay;
    config.rate_limits = args.rate_limits;
    config.faults = args.faults;
    config.seed = args.seed;
    config.fault_on = args.fault_on;
    config.slow = Duration::from_secs(args.slow_seconds);
    config.url_ttl = Duration::from_secs(args.url_ttl.max(1));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "workato-emulator: cannot start the runtime: {e}"
            );
            return std::process::ExitCode::from(1);
        }
    };
    let result: anyhow::Result<()> = runtime.block_on(async move {
        let running = workato_emulator::start(config).await?;
        let mut out = std::io::stdout();
        writeln!(out, "listening on http://{}", running.api)?;
        writeln!(out, "downloads on http://{}", running.storage)?;
        out.flush()?;
        tokio::select! {
            served = running.served => {
                served??;
            }
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "workato-emulator: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
