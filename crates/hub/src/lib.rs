//! Downloading checkpoint files from a Hugging Face hub into the standard cache layout
//! (`<cache>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file>, refs/<revision>}`), so
//! that Python's `huggingface_hub` and this crate share one cache.
//!
//! The protocol is the one `huggingface_hub.hf_hub_download` speaks: a `HEAD` of
//! `{endpoint}/{repo}/resolve/{revision}/{file}` yields the commit (`X-Repo-Commit`), the blob
//! id (`X-Linked-Etag` or `ETag`; the sha256 for LFS files) and possibly a redirect to the
//! storage URL; then a `GET` (resumed with `Range` from `blobs/<etag>.incomplete`) fills the
//! blob, which is renamed into place and linked from the snapshot. `HF_HUB_OFFLINE=1` (or
//! [`HubOptions::offline`]) resolves from the cache only.
//!
//! Rooms: [`HubOptions`] (the `HF_*` environment), [`HubClient`] (the protocol), [`HubError`];
//! `files` (blobs, snapshot links, atomic writes) and `names` (repo ids, paths and URLs checked
//! before they touch the cache or the network).

mod client;
mod error;
mod files;
mod names;
mod options;

pub use client::{HubClient, HubFile, Snapshot};
pub use error::HubError;
pub use options::{DEFAULT_ENDPOINT, HubOptions};
