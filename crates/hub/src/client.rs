//! The blocking client: the `HEAD`/`GET` protocol of `huggingface_hub.hf_hub_download`, the
//! cache hit and offline paths, and resumed, verified blob downloads.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::error::{HubError, io_err};
use crate::files::{HashWriter, link_pointer, sha256_file, write_atomic};
use crate::names::{is_commit_hash, is_safe_component, quote, validate};
use crate::options::HubOptions;

/// Weight files of a hub checkpoint, in order of preference.
const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// A file resolved in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    /// `snapshots/<commit>/<file>` in the cache (a link to the blob on Unix).
    pub path: PathBuf,
    /// The commit the revision resolved to.
    pub commit: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
    /// Whether no bytes were downloaded (cache hit or offline).
    pub from_cache: bool,
}

/// Several files of one repo at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `snapshots/<commit>`: a directory usable as a checkpoint directory.
    pub dir: PathBuf,
    /// The commit.
    pub commit: String,
    /// The files, in the order asked.
    pub files: Vec<HubFile>,
}

/// A blocking hub client.
#[derive(Debug, Clone)]
pub struct HubClient {
    options: HubOptions,
    head_agent: ureq::Agent,
    get_agent: ureq::Agent,
}

struct Meta {
    commit: String,
    etag: String,
    size: Option<u64>,
    download_url: String,
}

impl HubClient {
    /// A client with the given options.
    pub fn new(options: HubOptions) -> Self {
        let agent = |redirects: u32| -> ureq::Agent {
            // The system's trust store (and SSL_CERT_FILE / SSL_CERT_DIR), not a bundled one:
            // clusters and companies often reach the hub through a proxy with its own CA.
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build();
            ureq::Agent::config_builder()
                .tls_config(tls)
                .http_status_as_error(false)
                .max_redirects(redirects)
                .timeout_connect(Some(options.timeout))
                .timeout_recv_response(Some(options.timeout))
                .user_agent(concat!("multiberts/", env!("CARGO_PKG_VERSION"), "; ureq"))
                .build()
                .into()
        };
        Self {
            head_agent: agent(0),
            get_agent: agent(10),
            options,
        }
    }

    /// A client configured from the environment ([`HubOptions::from_env`]).
    pub fn from_env() -> Self {
        Self::new(HubOptions::from_env())
    }

    /// The options in use.
    pub fn options(&self) -> &HubOptions {
        &self.options
    }

    /// The cache folder of a repo: `<cache>/models--org--name`.
    pub fn repo_dir(&self, repo_id: &str) -> PathBuf {
        self.options
            .cache_dir
            .join(format!("models--{}", repo_id.replace('/', "--")))
    }

    /// Downloads several files of a repo at a revision; all must resolve to the same commit.
    /// The snapshot directory then holds them side by side, like a local checkpoint directory.
    pub fn download_files(
        &self,
        repo_id: &str,
        revision: &str,
        filenames: &[&str],
    ) -> Result<Snapshot, HubError> {
        let mut files = Vec::with_capacity(filenames.len());
        let mut commit: Option<String> = None;
        for name in filenames {
            // Pin the later files to the first one's commit so a push in between cannot mix
            // revisions.
            let rev = commit.as_deref().unwrap_or(revision);
            let f = self.download(repo_id, rev, name)?;
            commit.get_or_insert_with(|| f.commit.clone());
            files.push(f);
        }
        let commit = commit.unwrap_or_else(|| revision.to_string());
        Ok(Snapshot {
            dir: self.repo_dir(repo_id).join("snapshots").join(&commit),
            commit,
            files,
        })
    }

    /// Fetches what a BERT checkpoint directory needs: `config.json`, the weights
    /// (`model.safetensors`, else `pytorch_model.bin`, the only weights MultiBERTs repos ship),
    /// `vocab.txt`, and `tokenizer_config.json` / `special_tokens_map.json` when the repo has
    /// them. The snapshot directory can be given to
    /// `multiberts_model::checkpoint::load_checkpoint` and
    /// `multiberts_model::tokenizer::WordPieceTokenizer::from_dir`.
    pub fn download_checkpoint(&self, repo_id: &str, revision: &str) -> Result<Snapshot, HubError> {
        let config = self.download(repo_id, revision, "config.json")?;
        let commit = config.commit.clone();
        let mut files = vec![config];
        let weights = match self.download(repo_id, &commit, WEIGHT_FILES[0]) {
            Err(HubError::EntryNotFound { .. } | HubError::NotCached { .. }) => {
                self.download(repo_id, &commit, WEIGHT_FILES[1])?
            }
            other => other?,
        };
        files.push(weights);
        files.push(self.download(repo_id, &commit, "vocab.txt")?);
        for optional in ["tokenizer_config.json", "special_tokens_map.json"] {
            match self.download(repo_id, &commit, optional) {
                Ok(f) => files.push(f),
                Err(HubError::EntryNotFound { .. } | HubError::NotCached { .. }) => {
                    tracing::debug!(repo_id, file = optional, "not in the repo; skipped");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Snapshot {
            dir: self.repo_dir(repo_id).join("snapshots").join(&commit),
            commit,
            files,
        })
    }

    /// Resolves one file of `repo_id` at `revision` (branch, tag or commit) to a path in the
    /// cache, downloading it unless it is cached or the client is offline. If the hub cannot be
    /// reached but the file is cached for that revision, the cached file is used (with a
    /// warning), as `huggingface_hub` does.
    pub fn download(
        &self,
        repo_id: &str,
        revision: &str,
        filename: &str,
    ) -> Result<HubFile, HubError> {
        validate(repo_id, revision, filename)?;
        if self.options.offline {
            return self
                .cached(repo_id, revision, filename)?
                .ok_or_else(|| HubError::NotCached {
                    repo_id: repo_id.into(),
                    revision: revision.into(),
                    filename: filename.into(),
                    cache_dir: self.options.cache_dir.clone(),
                });
        }
        let url = format!(
            "{}/{}/resolve/{}/{}",
            self.options.endpoint,
            repo_id,
            quote(revision, false),
            quote(filename, true)
        );
        let meta = match self.head(repo_id, revision, filename, &url) {
            Ok(meta) => meta,
            Err(HubError::Network { .. } | HubError::MissingHeader { .. })
                if self
                    .cached(repo_id, revision, filename)
                    .ok()
                    .flatten()
                    .is_some() =>
            {
                tracing::warn!(
                    repo_id,
                    revision,
                    filename,
                    "hub unreachable: using the cached file"
                );
                return self.cached(repo_id, revision, filename).and_then(|f| {
                    f.ok_or_else(|| HubError::NotCached {
                        repo_id: repo_id.into(),
                        revision: revision.into(),
                        filename: filename.into(),
                        cache_dir: self.options.cache_dir.clone(),
                    })
                });
            }
            Err(e) => return Err(e),
        };

        let repo_dir = self.repo_dir(repo_id);
        if revision != meta.commit {
            let ref_path = repo_dir.join("refs").join(revision);
            write_atomic(&ref_path, meta.commit.as_bytes())?;
        }
        let pointer = repo_dir.join("snapshots").join(&meta.commit).join(filename);
        if pointer.is_file() {
            tracing::debug!(repo_id, filename, commit = %meta.commit, "cache hit");
            return Ok(HubFile {
                sha256: sha256_file(&pointer)?,
                path: pointer,
                commit: meta.commit,
                from_cache: true,
            });
        }
        let blob = repo_dir.join("blobs").join(&meta.etag);
        let (sha256, downloaded) = if blob.is_file() {
            (sha256_file(&blob)?, false)
        } else {
            (self.fetch_blob(repo_id, filename, &meta, &blob)?, true)
        };
        link_pointer(&blob, &pointer)?;
        Ok(HubFile {
            path: pointer,
            commit: meta.commit,
            sha256,
            from_cache: !downloaded,
        })
    }

    /// The cached copy of a file at a revision (a commit hash, or a branch/tag recorded in
    /// `refs/`), without any network access; `None` if it is not cached.
    pub fn cached(
        &self,
        repo_id: &str,
        revision: &str,
        filename: &str,
    ) -> Result<Option<HubFile>, HubError> {
        validate(repo_id, revision, filename)?;
        let repo_dir = self.repo_dir(repo_id);
        let commit =
            if is_commit_hash(revision) && repo_dir.join("snapshots").join(revision).is_dir() {
                revision.to_string()
            } else {
                match fs::read_to_string(repo_dir.join("refs").join(revision)) {
                    Ok(c) => c.trim().to_string(),
                    Err(_) => return Ok(None),
                }
            };
        let path = repo_dir.join("snapshots").join(&commit).join(filename);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(HubFile {
            sha256: sha256_file(&path)?,
            path,
            commit,
            from_cache: true,
        }))
    }

    fn with_auth(
        &self,
        req: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
        url: &str,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        match &self.options.token {
            Some(token) if url.starts_with(&self.options.endpoint) => {
                req.header("Authorization", format!("Bearer {token}"))
            }
            _ => req,
        }
    }

    fn head(
        &self,
        repo_id: &str,
        revision: &str,
        filename: &str,
        url: &str,
    ) -> Result<Meta, HubError> {
        let mut current = url.to_string();
        for _ in 0..5 {
            let req = self
                .head_agent
                .head(&current)
                .header("Accept-Encoding", "identity");
            let resp = self
                .with_auth(req, &current)
                .call()
                .map_err(|e| HubError::Network {
                    repo_id: repo_id.into(),
                    filename: filename.into(),
                    url: current.clone(),
                    source: Box::new(e),
                })?;
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let location = header("location");
            if (300..400).contains(&status)
                && let Some(loc) = location.as_deref()
                && loc.starts_with('/')
            {
                // A relative redirect (renamed repo): ask again at the new place.
                current = format!("{}{}", self.options.endpoint, loc);
                continue;
            }
            match status {
                200..=399 => {}
                401 | 403 => {
                    return Err(HubError::RepoNotFound {
                        repo_id: repo_id.into(),
                        url: current,
                    });
                }
                404 => {
                    return Err(match header("x-error-code").as_deref() {
                        Some("RepoNotFound") => HubError::RepoNotFound {
                            repo_id: repo_id.into(),
                            url: current,
                        },
                        Some("RevisionNotFound") => HubError::RevisionNotFound {
                            repo_id: repo_id.into(),
                            revision: revision.into(),
                            url: current,
                        },
                        _ => HubError::EntryNotFound {
                            repo_id: repo_id.into(),
                            revision: revision.into(),
                            filename: filename.into(),
                            url: current,
                        },
                    });
                }
                _ => {
                    return Err(HubError::Status {
                        repo_id: repo_id.into(),
                        filename: filename.into(),
                        status,
                        url: current,
                    });
                }
            }
            let missing = |header: &'static str| HubError::MissingHeader {
                url: current.clone(),
                header,
            };
            let commit = header("x-repo-commit").ok_or_else(|| missing("X-Repo-Commit"))?;
            let etag = header("x-linked-etag")
                .or_else(|| header("etag"))
                .map(|e| e.trim_start_matches("W/").trim_matches('"').to_string())
                .ok_or_else(|| missing("ETag"))?;
            if !is_safe_component(&commit) || !is_safe_component(&etag) {
                return Err(HubError::InvalidPath {
                    repo_id: repo_id.into(),
                    what: "commit or etag from the hub",
                    value: format!("{commit} / {etag}"),
                });
            }
            let size = header("x-linked-size")
                .or_else(|| header("content-length"))
                .and_then(|s| s.parse().ok());
            let download_url = if (300..400).contains(&status) {
                location.unwrap_or_else(|| current.clone())
            } else {
                current.clone()
            };
            return Ok(Meta {
                commit,
                etag,
                size,
                download_url,
            });
        }
        Err(HubError::Status {
            repo_id: repo_id.into(),
            filename: filename.into(),
            status: 310,
            url: current,
        })
    }

    /// Downloads into `blob`, resuming `<blob>.incomplete`, and returns the sha256.
    fn fetch_blob(
        &self,
        repo_id: &str,
        filename: &str,
        meta: &Meta,
        blob: &Path,
    ) -> Result<String, HubError> {
        let dir = blob.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        // One downloader per blob across processes (a sweep may start many jobs at once).
        // Lock files live in `<cache>/.locks/<repo>/` and stay there, as in huggingface_hub:
        // deleting one could let two processes lock different files for the same blob.
        let repo_folder = dir.parent().and_then(Path::file_name).unwrap_or_default();
        let lock_dir = self.options.cache_dir.join(".locks").join(repo_folder);
        fs::create_dir_all(&lock_dir).map_err(io_err(&lock_dir))?;
        let lock_path = lock_dir.join(format!("{}.lock", meta.etag));
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        lock.lock().map_err(io_err(&lock_path))?;
        if blob.is_file() {
            return sha256_file(blob);
        }
        let partial = PathBuf::from(format!("{}.incomplete", blob.display()));
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&partial)
            .map_err(io_err(&partial))?;
        let mut have = file.metadata().map_err(io_err(&partial))?.len();
        if meta.size.is_some_and(|s| have > s) {
            have = 0;
            file.set_len(0).map_err(io_err(&partial))?;
        }
        let network = |e: ureq::Error| HubError::Network {
            repo_id: repo_id.into(),
            filename: filename.into(),
            url: meta.download_url.clone(),
            source: Box::new(e),
        };
        let mut req = self
            .get_agent
            .get(&meta.download_url)
            .header("Accept-Encoding", "identity");
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let resp = self
            .with_auth(req, &meta.download_url)
            .call()
            .map_err(network)?;
        let status = resp.status().as_u16();
        let mut hasher = Sha256::new();
        match status {
            206 if have > 0 => {
                // Hash what is already there, then append.
                file.seek(SeekFrom::Start(0)).map_err(io_err(&partial))?;
                let mut existing = (&mut file).take(have);
                std::io::copy(&mut existing, &mut HashWriter(&mut hasher))
                    .map_err(io_err(&partial))?;
                tracing::info!(repo_id, filename, resumed_at = have, "resuming download");
            }
            200 => {
                file.set_len(0).map_err(io_err(&partial))?;
                have = 0;
            }
            404 => {
                return Err(HubError::EntryNotFound {
                    repo_id: repo_id.into(),
                    revision: meta.commit.clone(),
                    filename: filename.into(),
                    url: meta.download_url.clone(),
                });
            }
            _ => {
                return Err(HubError::Status {
                    repo_id: repo_id.into(),
                    filename: filename.into(),
                    status,
                    url: meta.download_url.clone(),
                });
            }
        }
        tracing::info!(repo_id, filename, url = %meta.download_url, size = ?meta.size, "downloading");
        let started = Instant::now();
        let mut reader = resp.into_body().into_reader();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = have;
        let mut next_report = total + (64 << 20);
        loop {
            let n = reader.read(&mut buf).map_err(|e| HubError::Io {
                path: partial.clone(),
                source: e,
            })?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(io_err(&partial))?;
            hasher.update(&buf[..n]);
            total += n as u64;
            if total >= next_report {
                tracing::info!(repo_id, filename, bytes = total, size = ?meta.size, "download progress");
                next_report += 64 << 20;
            }
        }
        file.sync_all().map_err(io_err(&partial))?;
        drop(file);
        let sha256 = hex::encode(hasher.finalize());
        let corrupt = |what, expected: String, actual: String| {
            let _ = fs::remove_file(&partial);
            HubError::Corrupt {
                repo_id: repo_id.into(),
                filename: filename.into(),
                what,
                expected,
                actual,
            }
        };
        if let Some(size) = meta.size
            && size != total
        {
            return Err(corrupt("size", size.to_string(), total.to_string()));
        }
        // LFS blobs are named by their sha256: check it.
        if meta.etag.len() == 64
            && meta.etag.bytes().all(|b| b.is_ascii_hexdigit())
            && meta.etag != sha256
        {
            return Err(corrupt("sha256", meta.etag.clone(), sha256));
        }
        fs::rename(&partial, blob).map_err(io_err(blob))?;
        drop(lock);
        tracing::info!(
            repo_id,
            filename,
            bytes = total,
            seconds = started.elapsed().as_secs_f64(),
            sha256 = %sha256,
            "downloaded"
        );
        Ok(sha256)
    }
}
