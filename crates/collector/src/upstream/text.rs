//! Reading and writing the text files of the upstream layouts, with file:line errors.

use std::io::Write;
use std::path::Path;

use crate::atomic;
use crate::error::{CollectorError, Result, io_err};

/// A tab-separated table with a header row.
pub(crate) struct Table {
    pub header: Vec<String>,
    /// Each row with its 1-based line number.
    pub rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    /// The index of a required column, or an error naming the file and the header line.
    pub fn column(&self, path: &Path, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| CollectorError::Malformed {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "missing column `{name}` in the header (found: {})",
                    self.header.join(", ")
                ),
            })
    }
}

/// Reads a tab-separated file with a header (pandas `to_csv(sep='\t')` quoting).
/// Rows whose field count differs from the header's are an error at their line.
pub(crate) fn read_table(path: &Path) -> Result<Table> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(true)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        CollectorError::Malformed {
            path: path.to_path_buf(),
            line,
            message: e.to_string(),
        }
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(CollectorError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            message: "empty file: expected a tab-separated header".into(),
        });
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if record.len() != header.len() {
            return Err(CollectorError::Malformed {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "ragged row: {} fields, but the header has {}",
                    record.len(),
                    header.len()
                ),
            });
        }
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(Table { header, rows })
}

/// Writes a tab-separated table with a header, atomically.
pub(crate) fn write_table(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<()> {
    atomic::write_with(path, |file| {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .from_writer(std::io::BufWriter::new(file));
        let csv_err = |e: csv::Error| CollectorError::Invalid {
            context: path.display().to_string(),
            message: e.to_string(),
        };
        w.write_record(header).map_err(csv_err)?;
        for row in rows {
            w.write_record(row).map_err(csv_err)?;
        }
        w.flush().map_err(io_err(path))
    })
}

/// How the fields of a numeric file are separated.
#[derive(Clone, Copy)]
pub(crate) enum Sep {
    /// Exactly one tab between fields (`np.loadtxt(delimiter="\t")`).
    Tab,
    /// Any run of whitespace (`np.loadtxt()` default).
    Whitespace,
}

/// Reads a numeric matrix file (no header): one row per non-blank line, every row with the
/// same number of fields. `parse` turns one field into a value. Returns the rows and the
/// field count.
pub(crate) fn read_numeric<T>(
    path: &Path,
    sep: Sep,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<(Vec<T>, usize, usize)> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let mut values = Vec::new();
    let mut width: Option<usize> = None;
    let mut rows = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let trimmed = line.trim_end_matches('\r');
        if trimmed.trim().is_empty() {
            continue;
        }
        let before = values.len();
        let mut push = |field: &str| -> Result<()> {
            let v = parse(field.trim()).ok_or_else(|| CollectorError::Malformed {
                path: path.to_path_buf(),
                line: line_no,
                message: format!("`{field}` is not a number"),
            })?;
            values.push(v);
            Ok(())
        };
        match sep {
            Sep::Tab => trimmed.split('\t').try_for_each(&mut push)?,
            Sep::Whitespace => trimmed.split_whitespace().try_for_each(&mut push)?,
        }
        let n = values.len() - before;
        match width {
            None => width = Some(n),
            Some(w) if w != n => {
                return Err(CollectorError::Malformed {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: format!("ragged row: {n} fields, but earlier rows have {w}"),
                });
            }
            Some(_) => {}
        }
        rows += 1;
    }
    Ok((values, rows, width.unwrap_or(0)))
}

/// Writes lines atomically, each followed by `\n`.
pub(crate) fn write_lines<I, S>(path: &Path, lines: I) -> Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    atomic::write_with(path, |file| {
        let mut w = std::io::BufWriter::new(file);
        for l in lines {
            w.write_all(l.as_ref().as_bytes()).map_err(io_err(path))?;
            w.write_all(b"\n").map_err(io_err(path))?;
        }
        w.flush().map_err(io_err(path))
    })
}

/// Parses a number the way numpy's `loadtxt` accepts it (`nan`, `inf` included).
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// Parses an integer, also accepting integral floats such as `1.0` (numpy float output).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>().ok().or_else(|| {
        let f = s.parse::<f64>().ok()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}
