//! Library error type: every variant names the file, entry or asset it is about.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with enough context to tell the user what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on a file or directory failed.
    #[error("failed to {action} `{path}`")]
    Io {
        /// What was being done ("read", "write", "create directory", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document could not be parsed.
    #[error("`{}{path}` is not valid JSON: {message}{}", package_prefix(.package), hint_suffix(.hint))]
    Json {
        /// The package the entry is in, when it is in one.
        package: Option<String>,
        /// The file or package entry.
        path: String,
        /// The parser's message (with line and column).
        message: String,
        /// What to do about it, when there is something to say.
        hint: Option<String>,
    },
    /// A YAML document could not be parsed.
    #[error("`{path}` is not a valid export manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A package (zip) or one of its entries is unsafe or malformed.
    #[error("package `{package}`: entry `{entry}`: {reason}")]
    BadEntry {
        /// The package file.
        package: String,
        /// The entry name (lossy UTF-8 when the name itself is invalid).
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A package as a whole is malformed (not a zip, truncated, too many entries, ...).
    #[error("package `{package}`: {reason}")]
    BadPackage {
        /// The package file.
        package: String,
        /// What is wrong.
        reason: String,
    },
    /// An asset is malformed (wrong shape for its type).
    #[error("asset `{path}`: {reason}")]
    BadAsset {
        /// The asset path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A name given on the command line matches nothing.
    #[error("{what} `{name}` not found{}{}", within_suffix(.within), hint_suffix(.hint))]
    NotFound {
        /// The kind of thing ("asset", "connector", "import", ...).
        what: &'static str,
        /// What the user asked for.
        name: String,
        /// Where it was looked for, as a phrase ("in `remotes.toml`"), when that says more.
        within: Option<String>,
        /// What to do, or what there is instead.
        hint: Option<String>,
    },
    /// The user asked for something that cannot be done as asked.
    #[error("{message}{}", hint_suffix(.hint))]
    Invalid {
        /// What it is about.
        subject: Subject,
        /// What is wrong: a sentence that names the subject.
        message: String,
        /// What to do about it, when there is something to say.
        hint: Option<String>,
    },
    /// Something the user asked to create exists already (a name or a file is taken).
    #[error("{message}{}", hint_suffix(.hint))]
    Exists {
        /// What is taken.
        subject: Subject,
        /// What is in the way: a sentence that names the subject.
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
    /// rlcm found itself in a state it should never reach: a bug, not bad input.
    #[error("internal error: {message}{}", hint_suffix(.hint))]
    Internal {
        /// What was found.
        message: String,
        /// What the user can do meanwhile.
        hint: Option<String>,
    },
    /// The environment is held by another rlcm process.
    #[error(
        "environment `{path}` is locked by another rlcm process{holder}; retry when it has finished, or pass `--wait`"
    )]
    Locked {
        /// The environment root.
        path: PathBuf,
        /// Who holds it, starting with a separator (may be empty).
        holder: String,
    },
    /// The operation is refused by a safety check (exit code 3).
    #[error("{0}")]
    Blocked(String),
    /// A Workato workspace answered with an error status (the message names method and URL).
    #[error("{message}")]
    Remote {
        /// The HTTP status.
        status: u16,
        /// Method, URL, status, the server's message and what to do.
        message: String,
    },
    /// A write failed after its commit point: it is recorded and the next rlcm command on the
    /// environment finishes it.
    #[error(
        "{label} is committed in `{root}` but could not be finished; the next rlcm command on this environment finishes it (fix the cause first)"
    )]
    Unfinished {
        /// What was being written ("import 3", ...).
        label: String,
        /// The environment root.
        root: PathBuf,
        /// Why it could not be finished.
        #[source]
        source: Box<Error>,
    },
    /// A request whose answer never came: whether it took effect is unknown (exit code 4).
    #[error("{0}")]
    OutcomeUnknown(String),
}

/// What an [`Error::Invalid`] or [`Error::Exists`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A file or directory.
    Path(PathBuf),
    /// An asset, by its path in a workspace or package.
    Asset(String),
    /// A custom connector, by title.
    Connector(String),
    /// A package file.
    Package(String),
    /// An rlcm environment, by its root.
    Environment(PathBuf),
    /// A connector registry (its URL or the name it was added under).
    Registry(String),
    /// A Workato workspace (a remote's name or URL).
    Remote(String),
    /// An import record, by id.
    Import(u64),
    /// A push to a Workato workspace, by id.
    Push(u64),
    /// An environment variable rlcm reads.
    Variable(String),
    /// The command-line arguments (a value, or a combination of them).
    Arguments,
}

impl Subject {
    /// A file or directory.
    pub fn path(p: impl AsRef<std::path::Path>) -> Self {
        Subject::Path(p.as_ref().to_path_buf())
    }

    /// An rlcm environment, by its root.
    pub fn environment(root: impl AsRef<std::path::Path>) -> Self {
        Subject::Environment(root.as_ref().to_path_buf())
    }
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default()
}

fn within_suffix(within: &Option<String>) -> String {
    within.as_deref().map(|w| format!(" {w}")).unwrap_or_default()
}

fn package_prefix(package: &Option<String>) -> String {
    package.as_deref().map(|p| format!("{p}: ")).unwrap_or_default()
}

impl Error {
    /// Builds an [`Error::Invalid`] about `subject`; add what to do with [`Error::hint`].
    pub fn invalid(subject: Subject, message: impl Into<String>) -> Self {
        Error::Invalid {
            subject,
            message: message.into(),
            hint: None,
        }
    }

    /// Builds an [`Error::NotFound`]: no `what` is called `name`.
    pub fn not_found(what: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            name: name.into(),
            within: None,
            hint: None,
        }
    }

    /// Says where an [`Error::NotFound`] looked (other kinds are returned unchanged).
    #[must_use]
    pub fn within(mut self, phrase: impl Into<String>) -> Self {
        if let Error::NotFound { within, .. } = &mut self {
            *within = Some(phrase.into());
        }
        self
    }

    /// Builds an [`Error::Exists`] about `subject`.
    pub fn exists(subject: Subject, message: impl Into<String>) -> Self {
        Error::Exists {
            subject,
            message: message.into(),
            hint: None,
        }
    }

    /// Builds an [`Error::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
            hint: None,
        }
    }

    /// Sets what to do about an [`Error::Invalid`], [`Error::NotFound`], [`Error::Exists`],
    /// [`Error::Internal`] or [`Error::Json`]
    /// (other kinds are returned unchanged).
    #[must_use]
    pub fn hint(mut self, text: impl Into<String>) -> Self {
        if let Error::Invalid { hint, .. }
        | Error::NotFound { hint, .. }
        | Error::Exists { hint, .. }
        | Error::Internal { hint, .. }
        | Error::Json { hint, .. } = &mut self
        {
            *hint = Some(text.into());
        }
        self
    }

    /// What to do about this error, when it says.
    pub fn hint_text(&self) -> Option<&str> {
        match self {
            Error::Invalid { hint, .. }
            | Error::NotFound { hint, .. }
            | Error::Exists { hint, .. }
            | Error::Internal { hint, .. }
            | Error::Json { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// What this error is about, for the kinds that name a [`Subject`].
    pub fn subject(&self) -> Option<&Subject> {
        match self {
            Error::Invalid { subject, .. } | Error::Exists { subject, .. } => Some(subject),
            _ => None,
        }
    }

    /// Names the package a [`Error::Json`] entry is in (other kinds are returned unchanged).
    #[must_use]
    pub fn in_package(mut self, name: impl Into<String>) -> Self {
        if let Error::Json { package, .. } = &mut self {
            *package = Some(name.into());
        }
        self
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Json`] from a serde_json error.
    pub fn json(path: impl Into<String>, err: &serde_json::Error) -> Self {
        Error::Json {
            package: None,
            path: path.into(),
            message: err.to_string(),
            hint: None,
        }
    }

    /// Returns true when the error means "refused by a safety check" (exit code 3).
    pub fn is_blocked(&self) -> bool {
        matches!(self, Error::Blocked(_))
    }

    /// Returns true when a request's outcome is unknown (exit code 4).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown(_))
    }
}

/// Adds a path to `std::io::Result`s.
pub(crate) trait IoContext<T> {
    /// Converts the error into [`Error::Io`] naming `path`.
    fn with_path(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn with_path(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_reads_as_message_then_hint_and_keeps_both_as_data() {
        let e = Error::invalid(
            Subject::Connector("Acme".into()),
            "connector `Acme` has no version 9",
        )
        .hint("its versions are 1, 2");
        assert_eq!(
            e.to_string(),
            "connector `Acme` has no version 9; its versions are 1, 2"
        );
        assert_eq!(e.subject(), Some(&Subject::Connector("Acme".into())));
        assert_eq!(e.hint_text(), Some("its versions are 1, 2"));
        let bare = Error::invalid(Subject::Arguments, "give --url or --region");
        assert_eq!(bare.to_string(), "give --url or --region");
        assert_eq!(bare.hint_text(), None);
    }

    #[test]
    fn not_found_places_where_it_looked_before_the_hint() {
        let e = Error::not_found("remote", "prod")
            .within("in `remotes.toml`")
            .hint("add it with `rlcm remote add prod --url URL`");
        assert_eq!(
            e.to_string(),
            "remote `prod` not found in `remotes.toml`; add it with `rlcm remote add prod --url URL`"
        );
        assert_eq!(Error::not_found("asset", "x").to_string(), "asset `x` not found");
    }

    #[test]
    fn json_names_the_package_apart_from_the_entry() {
        let parse = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
        let e = Error::json("recipes/a.recipe.json", &parse).in_package("pkg.zip");
        assert!(
            e.to_string()
                .starts_with("`pkg.zip: recipes/a.recipe.json` is not valid JSON: "),
            "{e}"
        );
        let Error::Json { package, path, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (package.as_deref(), path.as_str()),
            (Some("pkg.zip"), "recipes/a.recipe.json")
        );
        let plain = Error::json("a.json", &parse).hint("restore it from git");
        assert!(
            plain.to_string().starts_with("`a.json` is not valid JSON: "),
            "{plain}"
        );
        assert!(plain.to_string().ends_with("; restore it from git"), "{plain}");
    }

    #[test]
    fn internal_says_so_and_hints_only_go_where_they_are_read() {
        let e = Error::internal("`x` was not staged").hint("nothing was written, run the import again");
        assert_eq!(
            e.to_string(),
            "internal error: `x` was not staged; nothing was written, run the import again"
        );
        assert_eq!(e.subject(), None);
        // A kind without a hint field comes back unchanged.
        let b = Error::Blocked("refused".into()).hint("ignored");
        assert_eq!(b.to_string(), "refused");
        assert_eq!(b.hint_text(), None);
    }
}
