//! Repo ids, revisions and file names checked before they become cache paths or URLs.

use crate::error::HubError;

pub(crate) fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn is_safe_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

fn is_safe_relative(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains(['\\', '\0'])
        && s.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

pub(crate) fn validate(repo_id: &str, revision: &str, filename: &str) -> Result<(), HubError> {
    let parts: Vec<&str> = repo_id.split('/').collect();
    let part_ok = |p: &&str| {
        !p.is_empty()
            && *p != "."
            && *p != ".."
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if parts.len() > 2 || !parts.iter().all(part_ok) {
        return Err(HubError::InvalidRepoId {
            repo_id: repo_id.into(),
        });
    }
    for (what, value) in [("revision", revision), ("file name", filename)] {
        if !is_safe_relative(value) {
            return Err(HubError::InvalidPath {
                repo_id: repo_id.into(),
                what,
                value: value.into(),
            });
        }
    }
    Ok(())
}

/// Percent-encodes a URL path piece (`/` kept when `keep_slash`), like Python's `quote`.
pub(crate) fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
