//! Hub downloads against a fake hub served on 127.0.0.1 by the test itself (never the internet):
//! cache layout, cache hits, resume, offline mode, errors and environment handling. The files
//! served are the bert-tiny fixture's, so a downloaded snapshot is loaded end to end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use multiberts_model::checkpoint::load_checkpoint;
use multiberts_model::hub::{HubClient, HubError, HubOptions};
use multiberts_model::tokenizer::WordPieceTokenizer;
use sha2::{Digest, Sha256};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const CONFIG: &[u8] = b"{\"hidden_size\": 32}\n";
const CONFIG_ETAG: &str = "4f1c8a2d3b5e6f708192a3b4c5d6e7f801234567";
const VOCAB_ETAG: &str = "aa1c8a2d3b5e6f708192a3b4c5d6e7f801234567";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/bert-tiny")
        .join(rel)
}

/// The hub's "LFS" file: the bert-tiny zip checkpoint (about 4 MB).
fn weights() -> Vec<u8> {
    std::fs::read(fixture("pytorch_model.bin")).unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// The hub's vocab: the real uncased BERT vocab of the fixture.
fn vocab() -> Vec<u8> {
    std::fs::read(fixture("vocab.txt")).unwrap_or_else(|e| panic!("fixture: {e}"))
}

#[derive(Debug, Clone)]
struct Hit {
    method: String,
    url: String,
    range: Option<String>,
    auth: Option<String>,
}

struct FakeHub {
    server: Arc<tiny_http::Server>,
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHub {
    fn start() -> Self {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("binding: {e}")),
        );
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .unwrap_or_else(|| panic!("not an IP listener"));
        let base = format!("http://127.0.0.1:{port}");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let server = Arc::clone(&server);
            let hits = Arc::clone(&hits);
            let base = base.clone();
            std::thread::spawn(move || serve(&server, &base, &hits))
        };
        Self {
            server,
            base,
            hits,
            thread: Some(thread),
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn clear(&self) {
        if let Ok(mut h) = self.hits.lock() {
            h.clear();
        }
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|()| panic!("bad header {name}"))
}

fn serve(server: &tiny_http::Server, base: &str, hits: &Mutex<Vec<Hit>>) {
    let weights = weights();
    let weights_sha = sha256(&weights);
    let vocab = vocab();
    let corrupt_sha = sha256(b"what the hub promised");
    for req in server.incoming_requests() {
        let get = |name: &'static str| {
            req.headers()
                .iter()
                .find(|h| h.field.equiv(name))
                .map(|h| h.value.as_str().to_string())
        };
        let hit = Hit {
            method: req.method().as_str().to_string(),
            url: req.url().to_string(),
            range: get("Range"),
            auth: get("Authorization"),
        };
        if let Ok(mut h) = hits.lock() {
            h.push(hit.clone());
        }
        let url = hit.url.as_str();
        let not_found = |code: &str| {
            tiny_http::Response::from_data(Vec::new())
                .with_status_code(404)
                .with_header(header("X-Error-Code", code))
        };
        let resp = if let Some(rest) = url.strip_prefix("/org/model/resolve/") {
            let (rev, file) = rest.split_once('/').unwrap_or((rest, ""));
            if rev != "main" && rev != COMMIT {
                not_found("RevisionNotFound")
            } else {
                match file {
                    "config.json" => tiny_http::Response::from_data(CONFIG.to_vec())
                        .with_header(header("ETag", &format!("\"{CONFIG_ETAG}\"")))
                        .with_header(header("X-Repo-Commit", COMMIT)),
                    "vocab.txt" => tiny_http::Response::from_data(vocab.clone())
                        .with_header(header("ETag", &format!("\"{VOCAB_ETAG}\"")))
                        .with_header(header("X-Repo-Commit", COMMIT)),
                    // LFS files answer with a redirect to the storage host, like the real hub.
                    "pytorch_model.bin" | "corrupt.bin" => {
                        let (sha, size, target) = if file == "corrupt.bin" {
                            (&corrupt_sha, 11, "corrupt")
                        } else {
                            (&weights_sha, weights.len(), "weights")
                        };
                        tiny_http::Response::from_data(Vec::new())
                            .with_status_code(302)
                            .with_header(header("Location", &format!("{base}/lfs/{target}")))
                            .with_header(header("X-Linked-Etag", &format!("\"{sha}\"")))
                            .with_header(header("X-Linked-Size", &size.to_string()))
                            .with_header(header("X-Repo-Commit", COMMIT))
                    }
                    _ => not_found("EntryNotFound"),
                }
            }
        } else if url == "/lfs/weights" {
            match hit.range.as_deref().and_then(|r| r.strip_prefix("bytes=")) {
                Some(r) => {
                    let start: usize = r.trim_end_matches('-').parse().unwrap_or(0);
                    tiny_http::Response::from_data(weights[start..].to_vec())
                        .with_status_code(206)
                        .with_header(header(
                            "Content-Range",
                            &format!("bytes {start}-{}/{}", weights.len() - 1, weights.len()),
                        ))
                }
                None => tiny_http::Response::from_data(weights.clone()),
            }
        } else if url == "/lfs/corrupt" {
            tiny_http::Response::from_data(b"not the same".to_vec()[..11].to_vec())
        } else {
            not_found("RepoNotFound")
        };
        let _ = req.respond(resp);
    }
}

fn options(endpoint: &str, cache: &Path) -> HubOptions {
    HubOptions {
        endpoint: endpoint.to_string(),
        cache_dir: cache.to_path_buf(),
        offline: false,
        token: None,
        timeout: Duration::from_secs(10),
    }
}

fn repo_dir(cache: &Path) -> PathBuf {
    cache.join("models--org--model")
}

#[test]
fn downloads_into_the_hf_cache_layout_and_then_hits_the_cache() {
    let hub = FakeHub::start();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut opts = options(&hub.base, cache.path());
    opts.token = Some("secret".into());
    let client = HubClient::new(opts);

    let snap = client
        .download_files("org/model", "main", &["config.json", "pytorch_model.bin"])
        .unwrap_or_else(|e| panic!("{e}"));
    let repo = repo_dir(cache.path());
    assert_eq!(snap.commit, COMMIT);
    assert_eq!(snap.dir, repo.join("snapshots").join(COMMIT));
    assert_eq!(
        std::fs::read(snap.dir.join("config.json")).unwrap_or_default(),
        CONFIG
    );
    assert_eq!(
        std::fs::read(snap.dir.join("pytorch_model.bin")).unwrap_or_default(),
        weights()
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap_or_default(),
        COMMIT
    );
    let weights_sha = sha256(&weights());
    assert!(repo.join("blobs").join(&weights_sha).is_file());
    assert!(repo.join("blobs").join(CONFIG_ETAG).is_file());
    assert_eq!(snap.files[0].sha256, sha256(CONFIG));
    assert_eq!(snap.files[1].sha256, weights_sha);
    assert!(snap.files.iter().all(|f| !f.from_cache));
    #[cfg(unix)]
    {
        let link = std::fs::read_link(snap.dir.join("pytorch_model.bin")).unwrap_or_default();
        assert_eq!(link, Path::new("../../blobs").join(&weights_sha));
    }
    // No partial or lock files are left behind.
    let leftovers: Vec<String> = std::fs::read_dir(repo.join("blobs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.iter().all(|n| !n.contains('.')), "{leftovers:?}");

    // The token goes to the hub, not to the storage host the hub redirects to.
    let hits = hub.hits();
    assert!(
        hits.iter()
            .filter(|h| h.url.contains("/resolve/"))
            .all(|h| h.auth.as_deref() == Some("Bearer secret"))
    );
    // The second file was asked for at the commit the first one resolved to.
    assert!(
        hits.iter()
            .any(|h| h.url == format!("/org/model/resolve/{COMMIT}/pytorch_model.bin"))
    );

    hub.clear();
    let again = client
        .download("org/model", "main", "pytorch_model.bin")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.from_cache);
    assert_eq!(again.sha256, weights_sha);
    let hits = hub.hits();
    assert!(
        hits.iter().all(|h| h.method == "HEAD"),
        "cache hit downloaded again: {hits:?}"
    );
}

#[test]
fn a_checkpoint_directory_is_assembled_from_what_the_repo_has() {
    let hub = FakeHub::start();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let snap = HubClient::new(options(&hub.base, cache.path()))
        .download_checkpoint("org/model", "main")
        .unwrap_or_else(|e| panic!("{e}"));
    // No model.safetensors and no tokenizer_config.json in this repo: the .bin is used and the
    // optional files are skipped.
    let names: Vec<String> = snap
        .files
        .iter()
        .map(|f| {
            f.path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["config.json", "pytorch_model.bin", "vocab.txt"]);
    let asked: Vec<String> = hub.hits().into_iter().map(|h| h.url).collect();
    assert!(
        asked.iter().any(|u| u.ends_with("/model.safetensors")),
        "{asked:?}"
    );

    // The snapshot directory is a checkpoint directory: weights and tokenizer load from it.
    let ckpt = load_checkpoint(&snap.dir, &candle_core::Device::Cpu)
        .unwrap_or_else(|e| panic!("loading the snapshot: {e}"));
    assert_eq!(ckpt.tensors.len(), 39);
    assert_eq!(ckpt.config_path, Some(snap.dir.join("config.json")));
    assert_eq!(ckpt.files[0].sha256, snap.files[1].sha256);
    let tok = WordPieceTokenizer::from_dir(&snap.dir).unwrap_or_else(|e| panic!("{e}"));
    let enc = tok
        .encode("hello world", None, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(enc.ids, [101, 7592, 2088, 102]);

    // The same directory resolves offline.
    let mut opts = options(&hub.base, cache.path());
    opts.offline = true;
    hub.clear();
    let again = HubClient::new(opts)
        .download_checkpoint("org/model", "main")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((&again.dir, &again.commit), (&snap.dir, &snap.commit));
    assert!(again.files.iter().all(|f| f.from_cache));
    assert!(hub.hits().is_empty());
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let hub = FakeHub::start();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = weights();
    let blobs = repo_dir(cache.path()).join("blobs");
    std::fs::create_dir_all(&blobs).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        blobs.join(format!("{}.incomplete", sha256(&w))),
        &w[..100_000],
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let client = HubClient::new(options(&hub.base, cache.path()));
    let f = client
        .download("org/model", "main", "pytorch_model.bin")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(&f.path).unwrap_or_default(), w);
    assert_eq!(f.sha256, sha256(&w));
    let ranges: Vec<Option<String>> = hub
        .hits()
        .into_iter()
        .filter(|h| h.method == "GET")
        .map(|h| h.range)
        .collect();
    assert_eq!(ranges, [Some("bytes=100000-".to_string())]);
}

#[test]
fn offline_mode_uses_only_the_cache() {
    let hub = FakeHub::start();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    HubClient::new(options(&hub.base, cache.path()))
        .download("org/model", "main", "config.json")
        .unwrap_or_else(|e| panic!("{e}"));
    hub.clear();

    let mut opts = options(&hub.base, cache.path());
    opts.offline = true;
    let offline = HubClient::new(opts);
    for rev in ["main", COMMIT] {
        let f = offline
            .download("org/model", rev, "config.json")
            .unwrap_or_else(|e| panic!("{rev}: {e}"));
        assert!(f.from_cache);
        assert_eq!(f.commit, COMMIT);
        assert_eq!(std::fs::read(&f.path).unwrap_or_default(), CONFIG);
    }
    let e = offline
        .download("org/model", "main", "vocab.txt")
        .err()
        .unwrap_or_else(|| panic!("vocab.txt is not cached"));
    assert!(matches!(e, HubError::NotCached { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("vocab.txt") && msg.contains("org/model") && msg.contains("offline"),
        "{msg}"
    );
    assert!(hub.hits().is_empty(), "offline mode touched the network");
}

#[test]
fn an_unreachable_hub_falls_back_to_the_cache() {
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dead = {
        // Bind and drop a listener: nothing listens on that port afterwards.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        format!(
            "http://{}",
            l.local_addr().unwrap_or_else(|e| panic!("{e}"))
        )
    };
    {
        let hub = FakeHub::start();
        HubClient::new(options(&hub.base, cache.path()))
            .download("org/model", "main", "config.json")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let client = HubClient::new(options(&dead, cache.path()));
    let f = client
        .download("org/model", "main", "config.json")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(f.from_cache);
    let e = client
        .download("org/model", "main", "pytorch_model.bin")
        .err()
        .unwrap_or_else(|| panic!("nothing to fall back on"));
    assert!(matches!(e, HubError::Network { .. }), "{e}");
    assert!(e.to_string().contains("pytorch_model.bin") && e.to_string().contains("org/model"));
}

#[test]
fn hub_errors_name_the_repo_and_file() {
    let hub = FakeHub::start();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let client = HubClient::new(options(&hub.base, cache.path()));

    let e = client.download("org/model", "main", "missing.txt").err();
    let msg = e.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(e, Some(HubError::EntryNotFound { .. })), "{msg}");
    assert!(
        msg.contains("org/model") && msg.contains("missing.txt") && msg.contains("main"),
        "{msg}"
    );

    let e = client.download("org/other", "main", "config.json").err();
    let msg = e.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(e, Some(HubError::RepoNotFound { .. })), "{msg}");
    assert!(msg.contains("org/other"), "{msg}");

    let e = client.download("org/model", "v9", "config.json").err();
    assert!(
        matches!(e, Some(HubError::RevisionNotFound { .. })),
        "{e:?}"
    );

    let e = client.download("org/model", "main", "corrupt.bin").err();
    let msg = e.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(e, Some(HubError::Corrupt { what: "sha256", .. })),
        "{msg}"
    );
    // Neither a blob nor a partial file is kept for bytes that failed the check.
    let blobs: Vec<String> = std::fs::read_dir(repo_dir(cache.path()).join("blobs"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let promised = sha256(b"what the hub promised");
    assert!(blobs.iter().all(|n| !n.starts_with(&promised)), "{blobs:?}");

    for (repo, rev, file) in [
        ("../x", "main", "a"),
        ("org/model", "main", "../../etc/passwd"),
        ("a/b/c", "main", "f"),
    ] {
        let e = client.download(repo, rev, file).err();
        assert!(
            matches!(
                e,
                Some(HubError::InvalidRepoId { .. } | HubError::InvalidPath { .. })
            ),
            "{repo} {file}: {e:?}"
        );
    }
    assert!(!hub.hits().iter().any(|h| h.url.contains("passwd")));
}

#[test]
fn options_follow_the_huggingface_hub_environment() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, "hf_file\n").unwrap_or_else(|e| panic!("{e}"));
    let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let from = |vars: HashMap<String, String>| HubOptions::from_vars(|k| vars.get(k).cloned());

    let o = from(env(&[("HOME", "/home/u")]));
    assert_eq!(o.endpoint, "https://huggingface.co");
    assert_eq!(o.cache_dir, Path::new("/home/u/.cache/huggingface/hub"));
    assert!(!o.offline);

    let hf_home = tmp.path().to_string_lossy().into_owned();
    let o = from(env(&[
        ("HOME", "/home/u"),
        ("HF_HOME", &hf_home),
        ("HF_ENDPOINT", "http://mirror.local/"),
        ("HF_HUB_OFFLINE", "1"),
    ]));
    assert_eq!(o.cache_dir, tmp.path().join("hub"));
    assert_eq!(o.endpoint, "http://mirror.local");
    assert!(o.offline);
    assert_eq!(o.token.as_deref(), Some("hf_file"));

    let o = from(env(&[
        ("HF_HOME", &hf_home),
        ("HF_HUB_CACHE", "/data/hub"),
        ("HF_TOKEN", "hf_env"),
        ("HF_HUB_OFFLINE", "0"),
    ]));
    assert_eq!(o.cache_dir, Path::new("/data/hub"));
    assert_eq!(o.token.as_deref(), Some("hf_env"));
    assert!(!o.offline);

    let o = from(env(&[
        ("XDG_CACHE_HOME", "/xdg"),
        ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1"),
    ]));
    assert_eq!(o.cache_dir, Path::new("/xdg/huggingface/hub"));
    assert_eq!(o.token, None);
}
