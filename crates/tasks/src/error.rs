//! Errors of the tasks crate. Every variant names the file it is about.

use std::path::PathBuf;

use crate::diag::Diagnostic;

/// What can go wrong reading task specs and data files.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A task spec is malformed; the diagnostic has the position and the expectation.
    #[error("{0}")]
    Spec(Box<Diagnostic>),
    /// A data file is malformed; the diagnostic has the position and the expectation.
    #[error("{0}")]
    Data(Box<Diagnostic>),
    /// No task of that name is known.
    #[error("unknown task `{name}`; known tasks: {known}")]
    UnknownTask {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The specs built into the binary do not load (a bug).
    #[error("built-in task specs are invalid (a bug)")]
    Builtin(#[source] Box<TaskError>),
    /// A folder of user specs (`--tasks-dir`) does not load.
    #[error("cannot load task specs from {}", dir.display())]
    SpecDir {
        /// The folder.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: Box<TaskError>,
    },
    /// Two spec files define the same task.
    #[error("task `{name}` is defined twice: in {} and in {}", first.display(), second.display())]
    DuplicateTask {
        /// The task name.
        name: String,
        /// The first definition.
        first: PathBuf,
        /// The second definition.
        second: PathBuf,
    },
    /// None of a task's sources has files under the data root.
    #[error(
        "no data for task `{task}` under {}: looked for {tried}. Point --data-dir (or MULTIBERTS_DATA, or the manifest's data_dir) at the folder holding them",
        root.display()
    )]
    NoData {
        /// The task.
        task: String,
        /// The data root searched.
        root: PathBuf,
        /// The paths tried, comma-separated.
        tried: String,
    },
    /// A SQuAD question is inconsistent: a gold answer's `answer_start` does not point at its
    /// text in the context, its id repeats, or `is_impossible` disagrees with its answers.
    #[error("{}: question {question_id}: {message}", path.display())]
    SquadQuestion {
        /// The file.
        path: PathBuf,
        /// The question's `id`.
        question_id: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The chosen source has no such split.
    #[error("task `{task}` has no split `{split}` (it has {available})")]
    UnknownSplit {
        /// The task.
        task: String,
        /// The split asked for.
        split: String,
        /// The splits it has.
        available: String,
    },
}

impl TaskError {
    /// A data-file error at a line and column.
    pub(crate) fn data(
        path: &std::path::Path,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> TaskError {
        TaskError::Data(Box::new(Diagnostic::at(
            path,
            Some(crate::diag::LineCol { line, column }),
            message,
        )))
    }

    /// A data-file error about the file as a whole (or a row of a binary file).
    pub(crate) fn data_file(path: &std::path::Path, message: impl Into<String>) -> TaskError {
        TaskError::Data(Box::new(Diagnostic::at(path, None, message)))
    }
}
