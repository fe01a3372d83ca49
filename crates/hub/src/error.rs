//! Why a hub download failed; every variant names what it concerns.

use std::path::{Path, PathBuf};

/// Why a file could not be fetched. Every variant names the repo and file concerned.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The repo id is not `name` or `org/name` made of letters, digits, `-`, `_`, `.`.
    #[error("invalid repo id {repo_id:?}: expected \"org/name\" of letters, digits, '-', '_', '.'")]
    InvalidRepoId {
        /// The id given.
        repo_id: String,
    },
    /// The file name or revision would escape the cache (absolute, `..`, backslash) or is empty.
    #[error(
        "invalid {what} {value:?} for {repo_id}: must be a non-empty relative path without '..'"
    )]
    InvalidPath {
        /// The repo.
        repo_id: String,
        /// `file name` or `revision`.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// Offline mode and the file is not in the cache.
    #[error(
        "offline mode: {filename} of {repo_id} at revision {revision} is not in the hub cache \
         {cache_dir} (download it once online, or unset HF_HUB_OFFLINE)"
    )]
    NotCached {
        /// The repo.
        repo_id: String,
        /// The revision asked for.
        revision: String,
        /// The file asked for.
        filename: String,
        /// The cache searched.
        cache_dir: PathBuf,
    },
    /// The hub has no such repo (or it is private and no valid token was sent).
    #[error("repository {repo_id} not found at {url} (if it is private or gated, set HF_TOKEN)")]
    RepoNotFound {
        /// The repo.
        repo_id: String,
        /// The URL asked.
        url: String,
    },
    /// The repo has no such revision.
    #[error("revision {revision} not found in repository {repo_id} ({url})")]
    RevisionNotFound {
        /// The repo.
        repo_id: String,
        /// The revision.
        revision: String,
        /// The URL asked.
        url: String,
    },
    /// The repo has no such file at that revision.
    #[error("file {filename} not found in repository {repo_id} at revision {revision} ({url})")]
    EntryNotFound {
        /// The repo.
        repo_id: String,
        /// The revision.
        revision: String,
        /// The file.
        filename: String,
        /// The URL asked.
        url: String,
    },
    /// Any other unexpected HTTP status.
    #[error("HTTP {status} for {filename} of {repo_id} ({url})")]
    Status {
        /// The repo.
        repo_id: String,
        /// The file.
        filename: String,
        /// The status code.
        status: u16,
        /// The URL asked.
        url: String,
    },
    /// The hub's answer lacked a header the cache layout needs.
    #[error("{url}: the response has no {header} header, so it is not a Hugging Face hub answer")]
    MissingHeader {
        /// The URL asked.
        url: String,
        /// The header.
        header: &'static str,
    },
    /// The network failed (and the file is not cached).
    #[error("cannot fetch {filename} of {repo_id} from {url}: {source}")]
    Network {
        /// The repo.
        repo_id: String,
        /// The file.
        filename: String,
        /// The URL asked.
        url: String,
        /// The HTTP client's error.
        source: Box<ureq::Error>,
    },
    /// The downloaded bytes do not match the blob id or announced size.
    #[error("{filename} of {repo_id}: downloaded {what}: expected {expected}, got {actual}")]
    Corrupt {
        /// The repo.
        repo_id: String,
        /// The file.
        filename: String,
        /// `sha256` or `size`.
        what: &'static str,
        /// What the hub announced.
        expected: String,
        /// What arrived.
        actual: String,
    },
    /// A cache file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |source| HubError::Io {
        path: path.to_path_buf(),
        source,
    }
}
