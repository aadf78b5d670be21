//! The library's error type: every failure names the file, line, field or record it concerns.

use std::path::PathBuf;

/// Errors raised by relist's library. Each variant carries enough context (path, line, id,
/// field) for a one-line message a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A record in an input file could not be used.
    #[error("{}:{line}: {reason}", path.display())]
    Record {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// A record given without a file (stdin, an HTTP body) could not be used.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The index directory could not be opened, read or written.
    #[error("index {}: {reason}", path.display())]
    Index { path: PathBuf, reason: String },
    /// The configuration file or a setting is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A photo could not be used: not an image, truncated, corrupt, or over the decoding limits.
    #[error("{}: {reason}", path.display())]
    Image { path: PathBuf, reason: String },
    /// Another process holds the index's writer: the write was not made, and may be retried.
    #[error("index {}: another process is writing to this index; try again when it has finished", .0.display())]
    Busy(PathBuf),
    /// A feed page or photo could not be fetched (the address with its keys redacted).
    #[error("{url}: {reason}")]
    Fetch { url: String, reason: String },
    /// A banned record that was asked for does not exist.
    #[error("no banned record with id '{0}'")]
    NotFound(String),
}

/// `Result` with relist's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn index(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Index {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    pub fn image(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Error::Image {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
