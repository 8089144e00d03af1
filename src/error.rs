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
    #[error("`{path}` is not valid JSON: {message}")]
    Json {
        /// The file or package entry.
        path: String,
        /// The parser's message (with line and column).
        message: String,
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
    #[error("{what} `{name}` not found{hint}")]
    NotFound {
        /// The kind of thing ("asset", "connector", "import", ...).
        what: &'static str,
        /// What the user asked for.
        name: String,
        /// Extra hint, starting with a separator (may be empty).
        hint: String,
    },
    /// The user asked for something that cannot be done as asked.
    #[error("{0}")]
    Invalid(String),
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

impl Error {
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
            path: path.into(),
            message: err.to_string(),
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
pub trait IoContext<T> {
    /// Converts the error into [`Error::Io`] naming `path`.
    fn with_path(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn with_path(self, action: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}
