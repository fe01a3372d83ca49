//! The adversarial suite's harness (issue 15, item 8): one bad input per case, run through the
//! real binary. Each case must fail cleanly: a non-zero exit status that is neither a panic
//! (101) nor an abort (134) nor a signal, an error that names the file (and the line, where
//! there is one) or the offending value, and no file written or changed outside the results
//! folder (the whole folder around the working directory is compared before and after).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{multiberts, text};

/// One bad input.
pub struct Case {
    /// What the case tries.
    pub name: String,
    /// Files to create first (relative to the working directory), with their bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The command line; `{dir}` is replaced with the working directory.
    pub args: Vec<String>,
    /// What the error must say; `FILE:LINE` entries (e.g. `m.toml:LINE`) need the file name
    /// followed by `:` and a line number.
    pub expect: Vec<String>,
}

impl Case {
    /// A case with no files.
    pub fn new(name: impl Into<String>, args: &[&str], expect: &[&str]) -> Case {
        Case {
            name: name.into(),
            files: Vec::new(),
            args: args.iter().map(|a| (*a).to_string()).collect(),
            expect: expect.iter().map(|e| (*e).to_string()).collect(),
        }
    }

    /// Adds a file.
    pub fn file(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Case {
        self.files.push((path.to_string(), bytes.into()));
        self
    }
}

/// Every file under `root` (relative path → bytes), except under `skip`.
fn snapshot(root: &Path, skip: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.starts_with(skip) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
            }
        }
    }
    out
}

/// Whether `text` has `file:` followed by a line number.
fn names_line(text: &str, file: &str) -> bool {
    let pat = format!("{file}:");
    text.match_indices(&pat).any(|(i, _)| {
        text[i + pat.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// Runs one case; `Err` says how it went wrong.
pub fn run_case(case: &Case) -> Result<(), String> {
    let outer = tempfile::tempdir().map_err(|e| e.to_string())?;
    let work = outer.path().join("work");
    std::fs::create_dir(&work).map_err(|e| e.to_string())?;
    let work = work.canonicalize().map_err(|e| e.to_string())?;
    for (rel, bytes) in &case.files {
        let path = work.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    }
    let results = work.join("results");
    let before = snapshot(outer.path(), &results);
    let dir = work.to_string_lossy().into_owned();
    let args: Vec<String> = case.args.iter().map(|a| a.replace("{dir}", &dir)).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = multiberts(&work, &argv);
    let said = text(&out);
    let fail = |why: String| Err(format!("{}: {why}\n--- output ---\n{said}", case.name));
    match out.status.code() {
        None => return fail("killed by a signal".into()),
        Some(0) => return fail("succeeded".into()),
        Some(c @ (101 | 134)) => return fail(format!("crashed (exit status {c})")),
        Some(_) => {}
    }
    if said.contains("panicked at") {
        return fail("panicked".into());
    }
    for e in &case.expect {
        let ok = match e.strip_suffix(":LINE") {
            Some(file) => names_line(&said, file),
            None => said.contains(e.as_str()),
        };
        if !ok {
            return fail(format!("the error does not say {e:?}"));
        }
    }
    let after = snapshot(outer.path(), &results);
    if before != after {
        let changed: Vec<_> = after
            .keys()
            .filter(|k| before.get(*k) != after.get(*k))
            .chain(before.keys().filter(|k| !after.contains_key(*k)))
            .collect();
        return fail(format!(
            "files outside the results folder were written or changed: {changed:?}"
        ));
    }
    Ok(())
}

/// Runs every case and fails once, listing every case that went wrong.
pub fn run_all(cases: &[Case]) {
    let failures: Vec<String> = cases.iter().filter_map(|c| run_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
