//! Where and how to download: the endpoint, cache, offline switch and token, from the same
//! environment variables as Python's `huggingface_hub`.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

/// The public hub, used when `HF_ENDPOINT` is not set.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where and how to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOptions {
    /// Base URL of the hub, without a trailing slash.
    pub endpoint: String,
    /// The hub cache directory (the one holding `models--*` folders).
    pub cache_dir: PathBuf,
    /// Resolve from the cache only; never touch the network.
    pub offline: bool,
    /// Bearer token sent to the endpoint (not to redirect targets).
    pub token: Option<String>,
    /// Timeout for connecting and for each response's headers.
    pub timeout: Duration,
}

impl HubOptions {
    /// Options from the process environment (see [`HubOptions::from_vars`]).
    pub fn from_env() -> Self {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Options from environment variables looked up with `var`, with `huggingface_hub`'s rules:
    /// endpoint `HF_ENDPOINT`; cache `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, `$HF_HOME/hub`,
    /// `$XDG_CACHE_HOME/huggingface/hub`, then `~/.cache/huggingface/hub`; offline
    /// `HF_HUB_OFFLINE` in {1, true, yes, on}; token `HF_TOKEN`, else the file `HF_TOKEN_PATH`
    /// or `$HF_HOME/token` unless `HF_HUB_DISABLE_IMPLICIT_TOKEN` is set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| var(k).filter(|v| !v.is_empty());
        let truthy = |k: &str| {
            get(k).is_some_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
            })
        };
        let home = get("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let hf_home = get("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".cache"))
                .join("huggingface")
        });
        let cache_dir = get("HF_HUB_CACHE")
            .or_else(|| get("HUGGINGFACE_HUB_CACHE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let token = get("HF_TOKEN").or_else(|| {
            if truthy("HF_HUB_DISABLE_IMPLICIT_TOKEN") {
                return None;
            }
            let path = get("HF_TOKEN_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| hf_home.join("token"));
            fs::read_to_string(path)
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        });
        Self {
            endpoint: get("HF_ENDPOINT")
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
                .trim_end_matches('/')
                .to_string(),
            cache_dir,
            offline: truthy("HF_HUB_OFFLINE"),
            token,
            timeout: Duration::from_secs(30),
        }
    }
}
