//! Finding a task's data under a data root and reading a split.

use std::path::{Path, PathBuf};

use crate::diag::one_of;
use crate::error::TaskError;
use crate::example::{FileDigest, SplitData};
use crate::readers::{self, LabelParser, sha256_hex};
use crate::spec::{DataFormat, Source, SplitSource, TaskSpec};

/// Environment variable naming the data root when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "MULTIBERTS_DATA";

/// Picks the data root: the command-line flag, then `MULTIBERTS_DATA`, then the manifest's
/// `data_dir` (already resolved against the manifest's folder).
pub fn data_root(flag: Option<&Path>, manifest: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(DATA_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| manifest.map(Path::to_path_buf))
}

impl TaskSpec {
    /// The first source whose files are present under `root` (synthetic sources always are).
    pub fn resolve_source(&self, root: &Path) -> Result<&Source, TaskError> {
        let mut tried = Vec::new();
        for source in &self.sources {
            if source.format == DataFormat::Synthetic {
                return Ok(source);
            }
            for files in source.splits.values() {
                if let SplitSource::Files(files) = files {
                    for file in files {
                        let path = root.join(file);
                        if path.is_file() {
                            return Ok(source);
                        }
                        tried.push(file.clone());
                    }
                }
            }
        }
        Err(TaskError::NoData {
            task: self.name.to_string(),
            root: root.to_path_buf(),
            tried: tried.join(", "),
        })
    }

    /// Reads one split from the first available source under `root`.
    pub fn load_split(&self, root: &Path, split: &str) -> Result<SplitData, TaskError> {
        let source = self.resolve_source(root)?;
        self.load_split_from(source, root, split)
    }

    /// Reads one split from a given source (see [`TaskSpec::resolve_source`]).
    pub fn load_split_from(
        &self,
        source: &Source,
        root: &Path,
        split: &str,
    ) -> Result<SplitData, TaskError> {
        let spec_split = source
            .splits
            .get(split)
            .ok_or_else(|| TaskError::UnknownSplit {
                task: self.name.to_string(),
                split: split.to_string(),
                available: one_of(source.splits.keys()),
            })?;
        let labels = LabelParser::new(self, source);
        let mut data = SplitData {
            task: self.name.to_string(),
            split: split.to_string(),
            format: source.format,
            files: Vec::new(),
            examples: Vec::new(),
            skipped: 0,
            squad: None,
        };
        match spec_split {
            SplitSource::Generated(count) => {
                let generator = source.generator.as_deref().unwrap_or_default();
                let examples = crate::synthetic::generate(generator, source.seed, split, *count)
                    .ok_or_else(|| TaskError::UnknownTask {
                        name: format!("{}: generator {generator}", self.name),
                        known: one_of(crate::synthetic::GENERATORS),
                    })?;
                let canonical = serde_json::to_vec(&examples).unwrap_or_default();
                data.files.push(FileDigest {
                    path: format!("synthetic:{generator}?seed={}&split={split}", source.seed),
                    sha256: sha256_hex(&canonical),
                });
                data.examples = examples;
            }
            SplitSource::Files(files) if source.format_of(split) == DataFormat::Squad => {
                data.format = DataFormat::Squad;
                let (dataset, digests) = read_squad_files(root, files)?;
                data.examples = crate::squad::examples(&dataset);
                data.files = digests;
                data.squad = Some(std::sync::Arc::new(dataset));
            }
            SplitSource::Files(files) if source.format_of(split).is_span_pair() => {
                let format = source.format_of(split);
                data.format = format;
                let (examples, digests) = readers::read_span_pair(format, source, root, files)?;
                data.files = digests;
                data.examples = examples;
            }
            SplitSource::Files(files) => {
                for file in files {
                    let path = root.join(file);
                    let bytes = std::fs::read(&path).map_err(|source| TaskError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    data.files.push(FileDigest {
                        path: path.display().to_string(),
                        sha256: sha256_hex(&bytes),
                    });
                    let examples = match source.format {
                        DataFormat::GlueTsv => {
                            let (examples, skipped) =
                                readers::tsv::read(&path, &bytes, source, &labels)?;
                            if skipped > 0 {
                                tracing::warn!(
                                    "{}: skipped {skipped} malformed lines (the task spec allows it)",
                                    path.display()
                                );
                            }
                            data.skipped += skipped;
                            examples
                        }
                        DataFormat::Jsonl => readers::jsonl::read(&path, &bytes, source, &labels)?,
                        DataFormat::Parquet => {
                            readers::parquet::read(&path, bytes, source, &labels)?
                        }
                        DataFormat::Synthetic => unreachable!("synthetic splits are generated"),
                        _ => unreachable!("span-pair formats are read above"),
                    };
                    data.examples.extend(examples);
                }
            }
        }
        Ok(data)
    }
}

/// Reads a SQuAD split (one file; several files are refused, since question ids and
/// paragraph indices are per file).
fn read_squad_files(
    root: &Path,
    files: &[String],
) -> Result<(crate::squad::SquadDataset, Vec<FileDigest>), TaskError> {
    let [file] = files else {
        return Err(TaskError::data_file(
            &root.join(files.first().map_or("", String::as_str)),
            format!(
                "a SQuAD split is one JSON file; this split lists {}",
                files.len()
            ),
        ));
    };
    let path = root.join(file);
    let bytes = std::fs::read(&path).map_err(|source| TaskError::Io {
        path: path.clone(),
        source,
    })?;
    let digest = FileDigest {
        path: path.display().to_string(),
        sha256: sha256_hex(&bytes),
    };
    let dataset = crate::squad::parse_squad(&path, &bytes)?;
    Ok((dataset, vec![digest]))
}
