//! `GALLERY/corrections.csv`: the one record of what people decided about photos (named,
//! slate, rejected, unnamed, or cleared back to no correction), written by the desk and read
//! by every run. It is a log: rows are only appended, and the latest row for a photo wins
//! (undo appends the row that restores the previous state: `clear` when it had no correction).
//!
//! Appends are one write each followed by an fsync, so a writer killed at any moment loses at
//! most the row in flight; a torn last row (no line end, not a whole row) is skipped with a warning.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name inside the output folder.
pub const CORRECTIONS_FILE: &str = "corrections.csv";

/// The header a new file gets; `time` and `by` may be left out of a hand-written file.
pub const CORRECTIONS_HEADER: &str = "source,name,action,time,by";

/// What a correction says about a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionAction {
    /// The photo shows `name`.
    Name,
    /// The photo is a slate card: it renders nothing, and with a name the frames after it on
    /// its camera (until the next slate) take that name.
    Slate,
    /// The photo is left out: no outputs.
    Reject,
    /// The photo has no name, whatever a sheet, slate or face says.
    Unname,
    /// The photo's earlier corrections no longer count: sheets, slates and faces name it again.
    /// What undo writes for a photo nobody had corrected (an `unname` would outvote a later
    /// slate or sheet row).
    Clear,
}

impl CorrectionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionAction::Name => "name",
            CorrectionAction::Slate => "slate",
            CorrectionAction::Reject => "reject",
            CorrectionAction::Unname => "unname",
            CorrectionAction::Clear => "clear",
        }
    }
}

impl fmt::Display for CorrectionAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One row of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// The photo, as the manifest's `source` names it (the path relative to the shoot folder
    /// is accepted too).
    pub source: String,
    /// The person (or, with `=code=`, a Photo Mechanic code); empty when none.
    #[serde(default)]
    pub name: String,
    pub action: CorrectionAction,
    /// When it was decided: RFC 3339 in UTC (`2026-12-04T10:15:00Z`); may be empty by hand.
    #[serde(default)]
    pub time: String,
    /// Who decided it (a volunteer's name, `desk`, ...); may be empty.
    #[serde(default)]
    pub by: String,
}

impl Correction {
    /// A correction made now (UTC, whole seconds).
    pub fn now(source: &str, name: &str, action: CorrectionAction, by: &str) -> Self {
        Self {
            source: source.to_string(),
            name: name.to_string(),
            action,
            time: utc_now_rfc3339(),
            by: by.to_string(),
        }
    }
}

/// A correction with the line of the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCorrection {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub correction: Correction,
}

/// The file as read: every row in order, and what was odd about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corrections {
    path: PathBuf,
    rows: Vec<LoggedCorrection>,
    warnings: Vec<String>,
}

impl Corrections {
    /// The latest correction of `source` (exactly as written in the file).
    pub fn latest_for(&self, source: &str) -> Option<&Correction> {
        self.rows
            .iter()
            .rev()
            .find(|row| row.correction.source == source)
            .map(|row| &row.correction)
    }

    /// The latest correction of each source, in the order of their first row.
    pub fn latest(&self) -> Vec<&LoggedCorrection> {
        let mut position: HashMap<&str, usize> = HashMap::new();
        let mut latest: Vec<&LoggedCorrection> = Vec::new();
        for row in &self.rows {
            match position.get(row.correction.source.as_str()) {
                Some(&index) => latest[index] = row,
                None => {
                    position.insert(&row.correction.source, latest.len());
                    latest.push(row);
                }
            }
        }
        latest
    }

    /// Every row, in file order.
    pub fn rows(&self) -> &[LoggedCorrection] {
        &self.rows
    }

    /// Rows are rewritten in place, e.g. to expand Photo Mechanic codes in their names.
    pub fn rows_mut(&mut self) -> &mut [LoggedCorrection] {
        &mut self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The file these rows were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Readable lines about the file (a torn last row skipped).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Why the file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// `OUT/corrections.csv`.
pub fn corrections_path(out_dir: &Path) -> PathBuf {
    out_dir.join(CORRECTIONS_FILE)
}

/// Reads `OUT/corrections.csv`; a missing file is no corrections. Errors name the file and line.
pub fn read_corrections(out_dir: &Path) -> Result<Corrections, Error> {
    let path = corrections_path(out_dir);
    match fs::read(&path) {
        Ok(bytes) => parse_corrections(&path, &bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Corrections {
            path,
            ..Corrections::default()
        }),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Parses the file's bytes; `path` is only for messages.
pub fn parse_corrections(path: &Path, bytes: &[u8]) -> Result<Corrections, Error> {
    let line_error = |line: u64, message: String| Error::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|error| line_error(line_of(bytes, error.valid_up_to()), "not UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (whole, torn) = split_torn_tail(text);
    let mut corrections = Corrections {
        path: path.to_path_buf(),
        rows: parse_rows(path, whole)?,
        warnings: Vec::new(),
    };
    if let Some(tail) = torn {
        let line = whole.lines().count() as u64 + 1;
        let header = whole.lines().next().unwrap_or(tail);
        let probe = if whole.is_empty() {
            None
        } else {
            Some(format!("{header}\n{tail}\n"))
        };
        match probe.map(|text| parse_rows(path, &text)) {
            Some(Ok(mut rows)) if rows.len() == 1 => {
                // A whole row whose editor left off the last line end: keep it.
                let mut row = rows.remove(0);
                row.line = line;
                corrections.rows.push(row);
            }
            _ => corrections.warnings.push(format!(
                "{}:{line}: an unfinished last line (a writer was interrupted) was ignored",
                path.display()
            )),
        }
    }
    Ok(corrections)
}

/// Splits off a last line that has no line end: it may be a row a killed writer left half done.
fn split_torn_tail(text: &str) -> (&str, Option<&str>) {
    if text.is_empty() || text.ends_with('\n') {
        return (text, None);
    }
    match text.rfind('\n') {
        Some(end) => (&text[..=end], Some(&text[end + 1..])),
        None => ("", Some(text)),
    }
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// Rows of whole lines: a header with `source`, `name` and `action`, then the rows.
fn parse_rows(path: &Path, text: &str) -> Result<Vec<LoggedCorrection>, Error> {
    let line_error = |line: u64, message: String| Error::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let headers = reader
        .headers()
        .map_err(|error| line_error(1, error.to_string()))?
        .clone();
    for required in ["source", "name", "action"] {
        if !headers.iter().any(|header| header == required) {
            return Err(line_error(
                1,
                format!("the header needs a {required:?} column (expected {CORRECTIONS_HEADER:?})"),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        // From the byte offset: the csv crate's own line count skips blank lines, and a record's
        // offset may point at the blank lines before it.
        let line_at = |position: Option<&csv::Position>| {
            position.map_or(0, |position| {
                let bytes = text.as_bytes();
                let mut start = (position.byte() as usize).min(bytes.len());
                while bytes.get(start).is_some_and(|b| matches!(b, b'\n' | b'\r')) {
                    start += 1;
                }
                line_of(bytes, start)
            })
        };
        let record =
            record.map_err(|error| line_error(line_at(error.position()), csv_message(&error)))?;
        let line = line_at(record.position());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let correction: Correction = record
            .deserialize(Some(&headers))
            .map_err(|error| line_error(line, csv_message(&error)))?;
        check_row(&correction).map_err(|message| line_error(line, message))?;
        rows.push(LoggedCorrection { line, correction });
    }
    Ok(rows)
}

/// The csv crate's message without its own position (the line is given in front).
fn csv_message(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().map(|f| format!("field {}: ", f + 1));
            let text = err.kind().to_string();
            let hint = if text.contains("variant") {
                " (action is one of name, slate, reject, unname, clear)"
            } else {
                ""
            };
            format!("{}{text}{hint}", field.unwrap_or_default())
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => error.to_string(),
    }
}

fn check_row(correction: &Correction) -> Result<(), String> {
    if correction.source.is_empty() {
        return Err("the source is empty".to_string());
    }
    if correction.action == CorrectionAction::Name && correction.name.is_empty() {
        return Err("a name action needs a name".to_string());
    }
    if !correction.time.is_empty() && !is_rfc3339(&correction.time) {
        return Err(format!(
            "time {:?} is not RFC 3339 (like 2026-12-04T10:15:00Z)",
            correction.time
        ));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let fixed = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// Appends `rows` to `OUT/corrections.csv` (created with its header), as one write, then fsync.
/// A torn last row left by a killed writer is cut off first, so it never joins the new rows.
pub fn append_corrections(out_dir: &Path, rows: &[Correction]) -> Result<(), Error> {
    let path = corrections_path(out_dir);
    let io_error = |source| Error::Io {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(out_dir).map_err(io_error)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    let mut existing = Vec::new();
    file.read_to_end(&mut existing).map_err(io_error)?;
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        let keep = tail_to_keep(&path, &existing);
        if keep < existing.len() {
            file.set_len(keep as u64).map_err(io_error)?;
            existing.truncate(keep);
        } else {
            text.push('\n');
        }
    }
    let columns = header_columns(&existing);
    if columns.is_empty() {
        text.push_str(CORRECTIONS_HEADER);
        text.push('\n');
    }
    text.push_str(&rows_text(rows, &columns).map_err(|source| io_error(source.into()))?);
    file.seek(SeekFrom::End(0)).map_err(io_error)?;
    file.write_all(text.as_bytes()).map_err(io_error)?;
    file.sync_data().map_err(io_error)
}

/// How many bytes of a file without a final line end to keep: all of it when its last line is
/// a whole row (a hand edit), else up to the last line end (a torn row).
fn tail_to_keep(path: &Path, existing: &[u8]) -> usize {
    let whole_end = existing
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |end| end + 1);
    let is_whole_row = parse_corrections(path, existing)
        .map(|parsed| parsed.warnings.is_empty())
        .unwrap_or(false);
    if is_whole_row {
        existing.len()
    } else {
        whole_end
    }
}

/// The columns of an existing file's header (none for a new file).
fn header_columns(existing: &[u8]) -> Vec<String> {
    let decoded = String::from_utf8_lossy(existing);
    let text = decoded.strip_prefix('\u{feff}').unwrap_or(&decoded);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The rows as CSV lines in the file's column order (`\n` ends, fields quoted where needed); a
/// hand-written file may have fewer columns, or others (left empty).
fn rows_text(rows: &[Correction], columns: &[String]) -> Result<String, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let default_columns: Vec<String> = CORRECTIONS_HEADER.split(',').map(str::to_string).collect();
    let columns = if columns.is_empty() {
        &default_columns
    } else {
        columns
    };
    for row in rows {
        let fields = columns.iter().map(|column| match column.as_str() {
            "source" => row.source.as_str(),
            "name" => row.name.as_str(),
            "action" => row.action.as_str(),
            "time" => row.time.as_str(),
            "by" => row.by.as_str(),
            _ => "",
        });
        writer.write_record(fields)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Now, as RFC 3339 UTC with whole seconds.
pub fn utc_now_rfc3339() -> String {
    rfc3339_from_unix(jiff::Timestamp::now().as_second())
}

fn rfc3339_from_unix(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(source: &str, name: &str, action: CorrectionAction) -> Correction {
        Correction {
            source: source.to_string(),
            name: name.to_string(),
            action,
            time: "2026-12-04T10:15:00Z".to_string(),
            by: "desk".to_string(),
        }
    }

    #[test]
    fn missing_file_is_empty_and_appends_create_the_header() {
        let folder = tempfile::tempdir().unwrap();
        assert!(read_corrections(folder.path()).unwrap().is_empty());
        let first = row("shoot/a.jpg", "Seán O'Brien, Jr.", CorrectionAction::Name);
        append_corrections(folder.path(), std::slice::from_ref(&first)).unwrap();
        append_corrections(
            folder.path(),
            &[
                row("shoot/b.jpg", "", CorrectionAction::Reject),
                row("shoot/a.jpg", "", CorrectionAction::Unname),
            ],
        )
        .unwrap();
        let text = fs::read_to_string(corrections_path(folder.path())).unwrap();
        assert!(text.starts_with("source,name,action,time,by\n"), "{text}");
        assert!(text.contains("\"Seán O'Brien, Jr.\""), "{text}");
        let read = read_corrections(folder.path()).unwrap();
        assert_eq!(read.rows().len(), 3);
        assert_eq!(read.rows()[0].correction, first);
        assert_eq!(read.rows()[0].line, 2);
        let latest = read.latest_for("shoot/a.jpg").unwrap();
        assert_eq!(latest.action, CorrectionAction::Unname);
        assert_eq!(read.latest().len(), 2);
        assert!(read.latest_for("shoot/c.jpg").is_none());
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_cut_before_the_next_append() {
        let folder = tempfile::tempdir().unwrap();
        let path = corrections_path(folder.path());
        fs::write(
            &path,
            "source,name,action,time,by\nshoot/a.jpg,Ann,name,2026-12-04T10:15:00Z,desk\nshoot/b.jpg,Bo",
        )
        .unwrap();
        let read = read_corrections(folder.path()).unwrap();
        assert_eq!(read.rows().len(), 1);
        assert_eq!(read.warnings().len(), 1);
        assert!(read.warnings()[0].contains(":3:"), "{:?}", read.warnings());
        append_corrections(
            folder.path(),
            &[row("shoot/b.jpg", "Bob", CorrectionAction::Name)],
        )
        .unwrap();
        let read = read_corrections(folder.path()).unwrap();
        assert!(read.warnings().is_empty());
        assert_eq!(read.latest_for("shoot/b.jpg").unwrap().name, "Bob");
    }

    #[test]
    fn a_whole_last_row_without_line_end_is_kept() {
        let folder = tempfile::tempdir().unwrap();
        let path = corrections_path(folder.path());
        fs::write(&path, "source,name,action\nshoot/a.jpg,Ann,name").unwrap();
        let read = read_corrections(folder.path()).unwrap();
        assert_eq!(read.latest_for("shoot/a.jpg").unwrap().name, "Ann");
        assert!(read.warnings().is_empty());
        append_corrections(
            folder.path(),
            &[row("shoot/b.jpg", "", CorrectionAction::Slate)],
        )
        .unwrap();
        let read = read_corrections(folder.path()).unwrap();
        assert_eq!(read.rows().len(), 2, "{read:?}");
    }

    #[test]
    fn bad_lines_are_errors_naming_the_file_and_line() {
        let path = Path::new("out/corrections.csv");
        let cases = [
            (
                "source,name,action\na.jpg,Ann,name\nb.jpg,Bob,rename\n",
                ":3:",
            ),
            ("source,name,action\na.jpg,Ann,name\n\nb.jpg,,name\n", ":4:"),
            ("source,name\na.jpg,Ann\n", ":1:"),
            ("source,name,action,time\na.jpg,Ann,name,yesterday\n", ":2:"),
            ("source,name,action\na.jpg,Ann,name,extra\n", ":2:"),
        ];
        for (text, line) in cases {
            let error = parse_corrections(path, text.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!("out/corrections.csv{line}")),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_798_970_400), "2027-01-03T10:00:00Z");
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_796_410_500), "2026-12-04T18:55:00Z");
        assert!(is_rfc3339(&utc_now_rfc3339()));
        assert!(is_rfc3339("2026-12-04T10:15:00.250+01:00"));
        assert!(!is_rfc3339("2026-12-04 10:15"));
    }
}
