//! Name sheets and rosters: CSV or TSV files whose header says how names map to frames.
//!
//! Everything a volunteer can get wrong in a sheet is found here, before any photo is touched,
//! and reported with the file and line.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use jiff::civil::{Date, DateTime, Time};
use jiff::SignedDuration;

/// How a sheet says who is in which frame; chosen by the sheet's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `file,name[,…]`: one row per file.
    File,
    /// `first_file,name[,…]`: a person owns that frame and the following ones, up to the next row.
    FirstFile,
    /// `time,name[,…]`: each photo goes to the latest entry at or before its capture time.
    Time,
}

impl Layout {
    const ALL: [Layout; 3] = [Layout::File, Layout::FirstFile, Layout::Time];

    /// The header column that selects this layout.
    pub fn column(self) -> &'static str {
        match self {
            Layout::File => "file",
            Layout::FirstFile => "first_file",
            Layout::Time => "time",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.column())
    }
}

/// A named person, with the sheet's or roster's other columns in header order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// Other columns (email, company, tags, id…) as `(header, value)`, in header order.
    pub extra: Vec<(String, String)>,
}

impl Person {
    /// A person known only by name (a slate whose payload is the name itself).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            extra: Vec::new(),
        }
    }

    /// The value of an extra column, matched case-insensitively.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(column))
            .map(|(_, value)| value.as_str())
    }
}

/// For the manifest: `{"name": …, <extra columns in order>…}`.
impl Serialize for Person {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.extra.len()))?;
        map.serialize_entry("name", &self.name)?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A time from a `time` sheet, in the same local wall-clock as the (corrected) camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetTime {
    /// The day, or `None` for a bare time of day, which matches on each photo's own date.
    pub date: Option<Date>,
    pub time: Time,
    /// As written in the sheet, for messages.
    pub text: String,
}

impl SheetTime {
    /// The instant of a dated entry, on the cameras' (corrected) wall clock.
    pub fn date_time(&self) -> Option<DateTime> {
        self.date.map(|date| date.to_datetime(self.time))
    }
}

impl fmt::Display for SheetTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// What a row keys on: a file (layouts `file` and `first_file`) or a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKey {
    /// As written, with `\` turned into `/` and a leading `./` dropped.
    File(String),
    Time(SheetTime),
}

/// One data row of a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetEntry {
    /// 1-based line in the sheet where the row starts.
    pub line: u64,
    pub key: EntryKey,
    pub person: Person,
}

/// A loaded and checked name sheet.
#[derive(Debug, Clone)]
pub struct NameSheet {
    pub path: PathBuf,
    pub layout: Layout,
    /// Header columns as written (for checking caption tokens).
    pub columns: Vec<String>,
    /// Rows in sheet order.
    pub entries: Vec<SheetEntry>,
}

/// One attendee from a roster (`id,name[,…]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub line: u64,
    pub id: String,
    /// `extra` starts with `("id", id)`, then the other columns in header order (not `photo`).
    pub person: Person,
    /// The `photo` column as written: a reference picture of the attendee, relative to the
    /// roster (see [`Roster::reference_path`]); `None` when the column is absent or blank.
    pub photo: Option<String>,
}

/// The roster column naming each attendee's reference photo.
pub const PHOTO_COLUMN: &str = "photo";

/// Attendees by id, for QR slates and printable cards.
#[derive(Debug, Clone)]
pub struct Roster {
    pub path: PathBuf,
    /// Header columns as written.
    pub columns: Vec<String>,
    pub entries: Vec<RosterEntry>,
}

/// A sheet or roster that cannot be used; always names the file, and the line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: not UTF-8 or UTF-16 text; save the sheet as CSV UTF-8", path.display())]
    NotText { path: PathBuf, line: u64 },
    #[error("{}: no header line; the first line should be e.g. `file,name`", path.display())]
    Empty { path: PathBuf },
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}:{line}: the header has no `name` column (it has: {found})", path.display())]
    MissingName {
        path: PathBuf,
        line: u64,
        found: String,
    },
    #[error(
        "{}:{line}: unknown layout: the header needs a `file`, `first_file` or `time` column (it has: {found})",
        path.display()
    )]
    UnknownLayout {
        path: PathBuf,
        line: u64,
        found: String,
    },
    #[error(
        "{}:{line}: the header has more than one layout column ({found}); keep one of `file`, `first_file`, `time`",
        path.display()
    )]
    MixedLayout {
        path: PathBuf,
        line: u64,
        found: String,
    },
    #[error("{}:{line}: the header needs `id` and `name` columns (it has: {found})", path.display())]
    RosterHeader {
        path: PathBuf,
        line: u64,
        found: String,
    },
    #[error("{}:{line}: column `{column}` appears twice in the header", path.display())]
    DuplicateColumn {
        path: PathBuf,
        line: u64,
        column: String,
    },
    #[error("{}:{line}: the row has {found} fields but the header has {expected}", path.display())]
    TooManyFields {
        path: PathBuf,
        line: u64,
        found: usize,
        expected: usize,
    },
    #[error("{}:{line}: empty `{column}`", path.display())]
    EmptyField {
        path: PathBuf,
        line: u64,
        column: &'static str,
    },
    #[error(
        "{}:{line}: bad time {text:?}: {reason}; write HH:MM:SS[.sss], YYYY-MM-DD HH:MM:SS[.sss] or YYYY-MM-DDTHH:MM:SS",
        path.display()
    )]
    BadTime {
        path: PathBuf,
        line: u64,
        text: String,
        reason: String,
    },
    #[error("{}:{line}: file {file:?} is named twice, on lines {first_line} and {line}", path.display())]
    DuplicateFile {
        path: PathBuf,
        file: String,
        first_line: u64,
        line: u64,
    },
    #[error("{}:{line}: time {time} is given twice, on lines {first_line} and {line}", path.display())]
    DuplicateTime {
        path: PathBuf,
        time: String,
        first_line: u64,
        line: u64,
    },
    #[error("{}:{line}: id {id:?} is used twice, on lines {first_line} and {line}", path.display())]
    DuplicateId {
        path: PathBuf,
        id: String,
        first_line: u64,
        line: u64,
    },
}

impl SheetError {
    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            SheetError::Read { .. } | SheetError::Empty { .. } => None,
            SheetError::NotText { line, .. }
            | SheetError::Malformed { line, .. }
            | SheetError::MissingName { line, .. }
            | SheetError::UnknownLayout { line, .. }
            | SheetError::MixedLayout { line, .. }
            | SheetError::RosterHeader { line, .. }
            | SheetError::DuplicateColumn { line, .. }
            | SheetError::TooManyFields { line, .. }
            | SheetError::EmptyField { line, .. }
            | SheetError::BadTime { line, .. }
            | SheetError::DuplicateFile { line, .. }
            | SheetError::DuplicateTime { line, .. }
            | SheetError::DuplicateId { line, .. } => Some(*line),
        }
    }
}

impl NameSheet {
    /// Reads and checks a sheet. CSV, TSV or semicolon-separated (sniffed from the header
    /// line); UTF-8 with or without BOM, or UTF-16 with BOM (Excel's "Unicode Text").
    /// Fields are trimmed; blank lines and lines starting with `#` are skipped.
    pub fn load(path: &Path) -> Result<Self, SheetError> {
        let text = read_text(path)?;
        Self::parse(path, &text)
    }

    /// Like [`NameSheet::load`], from text already read; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SheetError> {
        let table = parse_table(path, text)?;
        let columns = Columns::new(path, &table)?;
        let found = || table.header.join(", ");
        let layouts: Vec<(Layout, usize)> = Layout::ALL
            .iter()
            .filter_map(|&layout| columns.find(layout.column()).map(|index| (layout, index)))
            .collect();
        let (layout, key_index) = match layouts.as_slice() {
            [] => {
                return Err(SheetError::UnknownLayout {
                    path: path.to_path_buf(),
                    line: table.header_line,
                    found: found(),
                })
            }
            [single] => *single,
            _ => {
                return Err(SheetError::MixedLayout {
                    path: path.to_path_buf(),
                    line: table.header_line,
                    found: found(),
                })
            }
        };
        let name_index = columns
            .find("name")
            .ok_or_else(|| SheetError::MissingName {
                path: path.to_path_buf(),
                line: table.header_line,
                found: found(),
            })?;

        let mut entries = Vec::with_capacity(table.rows.len());
        let mut files_seen: HashMap<String, u64> = HashMap::new();
        let mut times_seen: HashMap<(Option<Date>, Time), u64> = HashMap::new();
        for row in &table.rows {
            let key_text = row.field(key_index);
            if key_text.is_empty() {
                return Err(SheetError::EmptyField {
                    path: path.to_path_buf(),
                    line: row.line,
                    column: layout.column(),
                });
            }
            let person = row.person(path, &table.header, name_index, &[key_index])?;
            let key = match layout {
                Layout::File | Layout::FirstFile => {
                    let file = normalize_file_key(key_text);
                    if let Some(&first_line) = files_seen.get(&file) {
                        return Err(SheetError::DuplicateFile {
                            path: path.to_path_buf(),
                            file,
                            first_line,
                            line: row.line,
                        });
                    }
                    files_seen.insert(file.clone(), row.line);
                    EntryKey::File(file)
                }
                Layout::Time => {
                    let time =
                        parse_sheet_time(key_text).map_err(|reason| SheetError::BadTime {
                            path: path.to_path_buf(),
                            line: row.line,
                            text: key_text.to_string(),
                            reason: reason.to_string(),
                        })?;
                    let seen_key = (time.date, time.time);
                    if let Some(&first_line) = times_seen.get(&seen_key) {
                        return Err(SheetError::DuplicateTime {
                            path: path.to_path_buf(),
                            time: time.text,
                            first_line,
                            line: row.line,
                        });
                    }
                    times_seen.insert(seen_key, row.line);
                    EntryKey::Time(time)
                }
            };
            entries.push(SheetEntry {
                line: row.line,
                key,
                person,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            layout,
            columns: table.header.clone(),
            entries,
        })
    }
}

impl Roster {
    /// Reads and checks a roster: header with `id` and `name`, an optional `photo` (a reference
    /// picture, never a caption or manifest column), other columns ride along.
    /// Same file rules as [`NameSheet::load`].
    pub fn load(path: &Path) -> Result<Self, SheetError> {
        let text = read_text(path)?;
        Self::parse(path, &text)
    }

    /// Like [`Roster::load`], from text already read; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SheetError> {
        let table = parse_table(path, text)?;
        let columns = Columns::new(path, &table)?;
        let (Some(id_index), Some(name_index)) = (columns.find("id"), columns.find("name")) else {
            return Err(SheetError::RosterHeader {
                path: path.to_path_buf(),
                line: table.header_line,
                found: table.header.join(", "),
            });
        };
        let photo_index = columns.find(PHOTO_COLUMN);
        let skip: Vec<usize> = [Some(id_index), photo_index]
            .into_iter()
            .flatten()
            .collect();
        let mut entries: Vec<RosterEntry> = Vec::with_capacity(table.rows.len());
        let mut ids_seen: HashMap<String, u64> = HashMap::new();
        for row in &table.rows {
            let id = row.field(id_index).to_string();
            if id.is_empty() {
                return Err(SheetError::EmptyField {
                    path: path.to_path_buf(),
                    line: row.line,
                    column: "id",
                });
            }
            if let Some(&first_line) = ids_seen.get(&id) {
                return Err(SheetError::DuplicateId {
                    path: path.to_path_buf(),
                    id,
                    first_line,
                    line: row.line,
                });
            }
            ids_seen.insert(id.clone(), row.line);
            let mut person = row.person(path, &table.header, name_index, &skip)?;
            person
                .extra
                .insert(0, (table.header[id_index].clone(), id.clone()));
            let photo = photo_index
                .map(|index| normalize_file_key(row.field(index)))
                .filter(|text| !text.is_empty());
            entries.push(RosterEntry {
                line: row.line,
                id,
                person,
                photo,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            columns: table.header.clone(),
            entries,
        })
    }

    /// Where an attendee's reference photo is: its `photo` column, relative to the roster file.
    pub fn reference_path(&self, entry: &RosterEntry) -> Option<PathBuf> {
        let photo = entry.photo.as_deref()?;
        let folder = self.path.parent().unwrap_or(Path::new(""));
        Some(folder.join(photo))
    }

    /// The attendee with this id (exact, after trimming).
    pub fn by_id(&self, id: &str) -> Option<&RosterEntry> {
        let id = id.trim();
        self.entries.iter().find(|entry| entry.id == id)
    }

    /// The attendee with this name (exact, then ignoring case), when exactly one has it.
    pub fn by_name(&self, name: &str) -> Option<&RosterEntry> {
        let name = name.trim();
        let exact: Vec<&RosterEntry> = self
            .entries
            .iter()
            .filter(|entry| entry.person.name == name)
            .collect();
        if let [single] = exact.as_slice() {
            return Some(single);
        }
        if !exact.is_empty() {
            return None;
        }
        let folded = name.to_lowercase();
        let loose: Vec<&RosterEntry> = self
            .entries
            .iter()
            .filter(|entry| entry.person.name.to_lowercase() == folded)
            .collect();
        match loose.as_slice() {
            [single] => Some(single),
            _ => None,
        }
    }
}

/// `\` -> `/`, no leading `./`: how a volunteer's file reference is compared with photo paths.
pub(crate) fn normalize_file_key(text: &str) -> String {
    let mut key = text.trim().replace('\\', "/");
    while let Some(rest) = key.strip_prefix("./") {
        key = rest.to_string();
    }
    key
}

// ---------------------------------------------------------------------------------------------
// Reading delimited text

/// A delimited file: header and data rows, each with the line it starts on.
struct Table {
    header: Vec<String>,
    header_line: u64,
    rows: Vec<Row>,
}

struct Row {
    line: u64,
    fields: Vec<String>,
}

impl Row {
    /// A missing trailing field (spreadsheets drop empty ones) reads as empty.
    fn field(&self, index: usize) -> &str {
        self.fields.get(index).map(String::as_str).unwrap_or("")
    }

    /// The row's person: the name column, and every column not in `skip` as an extra.
    fn person(
        &self,
        path: &Path,
        header: &[String],
        name_index: usize,
        skip: &[usize],
    ) -> Result<Person, SheetError> {
        let name = self.field(name_index);
        if name.is_empty() {
            return Err(SheetError::EmptyField {
                path: path.to_path_buf(),
                line: self.line,
                column: "name",
            });
        }
        let extra = header
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != name_index && !skip.contains(index))
            .map(|(index, column)| (column.clone(), self.field(index).to_string()))
            .collect();
        Ok(Person {
            name: name.to_string(),
            extra,
        })
    }
}

/// Header columns, looked up by lower-cased name; duplicates are an error.
struct Columns {
    lowered: Vec<String>,
}

impl Columns {
    fn new(path: &Path, table: &Table) -> Result<Self, SheetError> {
        let lowered: Vec<String> = table.header.iter().map(|c| c.to_lowercase()).collect();
        for (index, column) in lowered.iter().enumerate() {
            if !column.is_empty() && lowered[..index].contains(column) {
                return Err(SheetError::DuplicateColumn {
                    path: path.to_path_buf(),
                    line: table.header_line,
                    column: table.header[index].clone(),
                });
            }
        }
        Ok(Self { lowered })
    }

    fn find(&self, column: &str) -> Option<usize> {
        self.lowered.iter().position(|c| c == column)
    }
}

fn read_text(path: &Path) -> Result<String, SheetError> {
    let bytes = fs::read(path).map_err(|source| SheetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decode_text(path, &bytes)
}

/// UTF-8 (BOM optional) or UTF-16 with BOM; an invalid byte is reported with its line.
pub fn decode_text(path: &Path, bytes: &[u8]) -> Result<String, SheetError> {
    let not_text = |line: u64| SheetError::NotText {
        path: path.to_path_buf(),
        line,
    };
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| -> Result<String, SheetError> {
        let units = rest.chunks(2).map(|pair| match pair {
            [a, b] => from([*a, *b]),
            _ => 0xD800, // a dangling odd byte: report it as invalid
        });
        let mut text = String::with_capacity(rest.len() / 2);
        for unit in char::decode_utf16(units) {
            match unit {
                Ok(c) => text.push(c),
                Err(_) => return Err(not_text(1 + text.matches('\n').count() as u64)),
            }
        }
        Ok(text)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(error) => {
            let before = &bytes[..error.valid_up_to()];
            Err(not_text(
                1 + before.iter().filter(|&&b| b == b'\n').count() as u64,
            ))
        }
    }
}

/// The delimiter the header line uses most, outside quotes: tab, comma or semicolon.
fn sniff_delimiter(header_line: &str) -> u8 {
    let mut counts = [(b'\t', 0usize), (b',', 0), (b';', 0)];
    let mut quoted = false;
    for byte in header_line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (delimiter, count) in counts.iter_mut() {
                if byte == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    // Ties go to the earlier entry: a tab-separated header with a comma in a column name is TSV.
    let mut best = counts[0];
    for candidate in counts {
        if candidate.1 > best.1 {
            best = candidate;
        }
    }
    if best.1 == 0 {
        b','
    } else {
        best.0
    }
}

fn is_skipped_line(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// Turns csv's byte positions into the 1-based lines where records' text starts, counting
/// `\n`, `\r\n` and a lone `\r` (old Mac exports) as line ends. csv's position points where
/// parsing began, before any blank or comment lines it skipped; those are stepped over.
struct LineCounter<'t> {
    text: &'t [u8],
    byte: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text: text.as_bytes(),
            byte: 0,
            line: 1,
        }
    }

    /// Moves forward to `target` (records come in order), counting line ends.
    fn advance_to(&mut self, target: usize) {
        let target = target.min(self.text.len());
        while self.byte < target {
            self.step();
        }
    }

    /// Steps over one byte, or one `\r\n`.
    fn step(&mut self) {
        match self.text[self.byte] {
            b'\n' => self.line += 1,
            b'\r' if self.text.get(self.byte + 1) == Some(&b'\n') => self.byte += 1,
            b'\r' => self.line += 1,
            _ => {}
        }
        self.byte += 1;
    }

    fn line_of(&mut self, position: &csv::Position) -> u64 {
        self.advance_to(usize::try_from(position.byte()).unwrap_or(usize::MAX));
        let mut probe = LineCounter { ..*self };
        loop {
            let at_line_start = match probe.text.get(probe.byte) {
                Some(b'\n' | b'\r') => true,
                Some(b'#') => {
                    while probe
                        .text
                        .get(probe.byte)
                        .is_some_and(|&b| b != b'\n' && b != b'\r')
                    {
                        probe.byte += 1;
                    }
                    probe.byte < probe.text.len()
                }
                _ => false,
            };
            if !at_line_start {
                return probe.line;
            }
            probe.step();
        }
    }
}

fn parse_table(path: &Path, text: &str) -> Result<Table, SheetError> {
    // csv ends comment lines at `\n` only: give old Mac exports (lone `\r`) Unix line ends.
    let normalized;
    let text = if text.contains('\r') {
        normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        text
    };
    let header_text = text
        .lines()
        .find(|line| !is_skipped_line(line))
        .ok_or_else(|| SheetError::Empty {
            path: path.to_path_buf(),
        })?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(header_text))
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(text);
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| SheetError::Malformed {
            path: path.to_path_buf(),
            line: error.position().map_or(0, |p| lines.line_of(p)),
            message: error.to_string(),
        })?;
        let line = record.position().map_or(0, |p| lines.line_of(p));
        let fields: Vec<String> = record.iter().map(str::to_string).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        match &header {
            None => {
                let mut fields = fields;
                // Trailing empty header cells (a spreadsheet's unused columns) are not columns.
                while fields.last().is_some_and(String::is_empty) {
                    fields.pop();
                }
                header = Some((line, fields));
            }
            Some((_, columns)) => {
                let used = fields
                    .iter()
                    .rposition(|field| !field.is_empty())
                    .map_or(0, |last| last + 1);
                if used > columns.len() {
                    return Err(SheetError::TooManyFields {
                        path: path.to_path_buf(),
                        line,
                        found: used,
                        expected: columns.len(),
                    });
                }
                rows.push(Row { line, fields });
            }
        }
    }
    let (header_line, header) = header.ok_or_else(|| SheetError::Empty {
        path: path.to_path_buf(),
    })?;
    Ok(Table {
        header,
        header_line,
        rows,
    })
}

// ---------------------------------------------------------------------------------------------
// Times and time spans

/// `"25"` (as in `.25`) -> 250 000 µs; digits past the sixth are dropped.
fn fraction_micros(digits: &str) -> i64 {
    let mut micros = 0i64;
    for position in 0..6 {
        let digit = digits
            .as_bytes()
            .get(position)
            .map_or(0, |byte| i64::from(byte.wrapping_sub(b'0')).min(9));
        micros = micros * 10 + digit;
    }
    micros
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `YYYY-MM-DD`; jiff's calendar says whether the day exists.
fn parse_date(text: &str) -> Result<Date, &'static str> {
    const FORM: &str = "the date must be YYYY-MM-DD";
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(FORM);
    };
    let widths_ok = year.len() == 4 && month.len() == 2 && day.len() == 2;
    if !widths_ok || !parts.iter().all(|part| all_digits(part)) {
        return Err(FORM);
    }
    let number = |part: &str| part.parse::<i16>().map_err(|_| FORM);
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    if !(1..=12).contains(&month) {
        return Err("no such month");
    }
    Date::new(year, month as i8, day as i8).map_err(|_| "no such day in that month")
}

/// Parses `H:MM[:SS[.fraction]]` into microseconds; `max_hours` bounds the hour field.
fn parse_clock(text: &str, max_hours: i64) -> Result<i64, &'static str> {
    const FORM: &str = "the time must be HH:MM:SS";
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => {
            if !all_digits(fraction) {
                return Err("the fraction of a second must be digits");
            }
            (whole, fraction_micros(fraction))
        }
        None => (text, 0),
    };
    let parts: Vec<&str> = whole.split(':').collect();
    let (hours, minutes, seconds) = match parts.as_slice() {
        [hours, minutes, seconds] => (*hours, *minutes, *seconds),
        [hours, minutes] if fraction == 0 && !text.contains('.') => (*hours, *minutes, "00"),
        _ => return Err(FORM),
    };
    if !all_digits(hours) || hours.len() > 3 || minutes.len() != 2 || seconds.len() != 2 {
        return Err(FORM);
    }
    if !all_digits(minutes) || !all_digits(seconds) {
        return Err(FORM);
    }
    let number = |part: &str| part.parse::<i64>().map_err(|_| FORM);
    let (hours, minutes, seconds) = (number(hours)?, number(minutes)?, number(seconds)?);
    if hours > max_hours {
        return Err("hours out of range");
    }
    if minutes > 59 {
        return Err("minutes out of range");
    }
    if seconds > 59 {
        return Err("seconds out of range");
    }
    Ok(((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + fraction)
}

/// Parses a `time` column: `HH:MM:SS[.sss]` (also `H:MM:SS` and `HH:MM`), optionally after a
/// date and a space or `T`: `YYYY-MM-DD HH:MM:SS[.sss]`, `YYYY-MM-DDTHH:MM:SS[.sss]`.
pub fn parse_sheet_time(text: &str) -> Result<SheetTime, &'static str> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if lower.ends_with("am") || lower.ends_with("pm") {
        return Err("AM/PM times are not supported, use the 24-hour clock");
    }
    if lower.ends_with('z') || text.get(19..).is_some_and(|t| t.contains(['+', '-'])) {
        return Err("time zones are not supported, use the camera's local time");
    }
    let (date, clock) = match text.find([' ', 'T']) {
        Some(split) => {
            let (date, clock) = (&text[..split], text[split + 1..].trim_start());
            (Some(parse_date(date)?), clock)
        }
        None if text.contains('-') => return Err("a date needs a time after it"),
        None => (None, text),
    };
    let micros_of_day = parse_clock(clock, 23)?;
    let time = Time::midnight()
        .checked_add(SignedDuration::from_micros(micros_of_day))
        .map_err(|_| "hours out of range")?;
    Ok(SheetTime {
        date,
        time,
        text: text.to_string(),
    })
}

/// A text that is not a valid clock offset or gap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {what}: {reason}")]
pub struct TimeSpanError {
    pub text: String,
    what: &'static str,
    reason: &'static str,
}

/// Correction added to every camera time before matching a `time` sheet, like exiftool's
/// geosync: a camera running two minutes fast takes `-00:02:00`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockOffset {
    micros: i64,
}

impl ClockOffset {
    pub const ZERO: ClockOffset = ClockOffset { micros: 0 };

    pub fn from_micros(micros: i64) -> Self {
        Self { micros }
    }

    pub fn as_micros(self) -> i64 {
        self.micros
    }

    /// The correction as a span, to add to a camera's wall clock.
    pub fn as_duration(self) -> SignedDuration {
        SignedDuration::from_micros(self.micros)
    }
}

/// `±HH:MM:SS[.sss]` (hours may exceed 24 for a camera set to the wrong day); no sign means `+`.
impl FromStr for ClockOffset {
    type Err = TimeSpanError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| TimeSpanError {
            text: text.to_string(),
            what: "clock offset (±HH:MM:SS)",
            reason,
        };
        let trimmed = text.trim();
        let (sign, body) = match trimmed.as_bytes().first() {
            Some(b'-') => (-1, &trimmed[1..]),
            Some(b'+') => (1, &trimmed[1..]),
            _ => (1, trimmed),
        };
        if body.split(':').count() != 3 {
            return Err(error("write ±HH:MM:SS, e.g. -00:02:00"));
        }
        let micros = parse_clock(body, 999).map_err(error)?;
        Ok(Self {
            micros: sign * micros,
        })
    }
}

impl fmt::Display for ClockOffset {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.micros < 0 { '-' } else { '+' };
        formatter.write_fmt(format_args!(
            "{sign}{}",
            format_span(self.micros.unsigned_abs())
        ))
    }
}

impl Serialize for ClockOffset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `HH:MM:SS[.ffffff]` for a span in microseconds.
pub(crate) fn format_span(micros: u64) -> String {
    let seconds = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let mut text = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// Parses a gap such as `--max-gap`: `HH:MM:SS[.sss]`, or a number with `s`, `m` or `h`
/// (`90s`, `5m`, `1.5h`); a bare number is seconds.
pub fn parse_gap(text: &str) -> Result<Duration, TimeSpanError> {
    let error = |reason| TimeSpanError {
        text: text.to_string(),
        what: "time span",
        reason,
    };
    let trimmed = text.trim();
    if trimmed.contains(':') {
        let micros = parse_clock(trimmed, 999).map_err(error)?;
        return Ok(Duration::from_micros(micros as u64));
    }
    let (number, unit_seconds) = match trimmed.char_indices().last() {
        Some((index, 's')) => (&trimmed[..index], 1.0),
        Some((index, 'm')) => (&trimmed[..index], 60.0),
        Some((index, 'h')) => (&trimmed[..index], 3600.0),
        _ => (trimmed, 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| error("write HH:MM:SS or a number with s, m or h, e.g. 90s"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(error("must be zero or more"));
    }
    Duration::try_from_secs_f64(value * unit_seconds).map_err(|_| error("too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(text: &str) -> Result<NameSheet, SheetError> {
        NameSheet::parse(Path::new("names.csv"), text)
    }

    #[test]
    fn sniffs_delimiters_and_keeps_extra_columns_in_order() {
        for text in [
            "file,name,email,company\nIMG_1.jpg,Ada Lovelace,ada@example.org,Analytical\n",
            "file\tname\temail\tcompany\nIMG_1.jpg\tAda Lovelace\tada@example.org\tAnalytical\n",
            "file;name;email;company\nIMG_1.jpg;Ada Lovelace;ada@example.org;Analytical\n",
            "\u{feff}File , Name,Email,Company\r\n\r\n# a note\r\nIMG_1.jpg,\"Ada Lovelace\",ada@example.org,Analytical\r\n",
        ] {
            let sheet = sheet(text).unwrap();
            assert_eq!(sheet.layout, Layout::File);
            let entry = &sheet.entries[0];
            assert_eq!(entry.key, EntryKey::File("IMG_1.jpg".into()));
            assert_eq!(entry.person.name, "Ada Lovelace");
            let keys: Vec<&str> = entry.person.extra.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys.len(), 2, "{text:?}");
            assert!(keys[0].eq_ignore_ascii_case("email"));
            assert_eq!(entry.person.get("company"), Some("Analytical"));
        }
    }

    #[test]
    fn line_numbers_count_from_the_file_start() {
        let sheet =
            sheet("\n# comment\nfirst_file,name\nA.jpg,One\n\nB.jpg,\"Two\nlines\"\nC.jpg,Three\n")
                .unwrap();
        let lines: Vec<u64> = sheet.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 6, 8]);
        assert_eq!(sheet.layout, Layout::FirstFile);
        // Old Mac line ends, and CRLF.
        for ending in ["\r", "\r\n"] {
            let text = ["file,name", "", "A.jpg,One", "# note", "B.jpg,Two", ""].join(ending);
            let lines: Vec<u64> = NameSheet::parse(Path::new("x.csv"), &text)
                .unwrap()
                .entries
                .iter()
                .map(|e| e.line)
                .collect();
            assert_eq!(lines, [3, 5], "{ending:?}");
        }
    }

    #[test]
    fn utf16_with_bom_reads_like_utf8() {
        let text = "time\tname\n09:00:00\t李小龍\n";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        let decoded = decode_text(Path::new("x.txt"), &bytes).unwrap();
        assert_eq!(decoded, text);
        let error = decode_text(Path::new("x.csv"), b"file,name\nA.jpg,\xff\n").unwrap_err();
        assert_eq!(error.line(), Some(2));
    }

    #[test]
    fn sheet_errors_name_the_line() {
        let cases: [(&str, u64, &str); 9] = [
            ("file,email\nA.jpg,a@b\n", 1, "no `name` column"),
            ("photo,name\nA.jpg,Ann\n", 1, "unknown layout"),
            (
                "file,time,name\nA.jpg,10:00:00,Ann\n",
                1,
                "more than one layout",
            ),
            (
                "time,name\n10:00:00,Ann\n25:00:00,Bob\n",
                3,
                "hours out of range",
            ),
            (
                "time,name\n10:00:00,Ann\n\n10:61:00,Bob\n",
                4,
                "minutes out of range",
            ),
            ("time,name\n2024-02-30 10:00:00,Ann\n", 2, "no such day"),
            (
                "file,name\nA.jpg,Ann\nB.jpg,Bob\nA.jpg,Cy\n",
                4,
                "lines 2 and 4",
            ),
            ("file,name\nA.jpg,\n", 2, "empty `name`"),
            ("file,name\nA.jpg,Ann,extra\n", 2, "3 fields"),
        ];
        for (text, line, needle) in cases {
            let error = sheet(text).unwrap_err();
            let message = error.to_string();
            assert_eq!(error.line(), Some(line), "{message}");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            assert!(
                message.starts_with(&format!("names.csv:{line}:")),
                "{message}"
            );
        }
    }

    #[test]
    fn times_parse_in_every_documented_form() {
        let time = |text: &str| parse_sheet_time(text).unwrap().time;
        assert_eq!(time("14:03:22"), Time::constant(14, 3, 22, 0));
        assert_eq!(time("14:03:22.25"), Time::constant(14, 3, 22, 250_000_000));
        assert_eq!(time("9:05:00"), time("09:05:00"));
        assert_eq!(time("09:05"), time("09:05:00"));
        let dated = parse_sheet_time("2024-05-03 14:03:22.5").unwrap();
        assert_eq!(dated.date, Some(Date::constant(2024, 5, 3)));
        assert_eq!(
            parse_sheet_time("2024-05-03T14:03:22.5").unwrap().date,
            dated.date
        );
        for bad in [
            "noon",
            "2:03 PM",
            "14:3:22",
            "2024-05-03",
            "14:03:22+02:00",
            "24:00:00",
            "14:03:22.x",
        ] {
            assert!(parse_sheet_time(bad).is_err(), "{bad} should be rejected");
        }
        let capture =
            crate::exif_info::CaptureTime::from_exif("2024:05:03 14:03:22", Some("25"), None)
                .unwrap();
        assert_eq!(
            dated.date_time().unwrap().duration_since(capture.local),
            SignedDuration::from_millis(250)
        );
    }

    #[test]
    fn clock_offsets_and_gaps() {
        let offset: ClockOffset = "-00:02:00".parse().unwrap();
        assert_eq!(offset.as_micros(), -120_000_000);
        assert_eq!(offset.to_string(), "-00:02:00");
        let offset: ClockOffset = "+01:00:00.5".parse().unwrap();
        assert_eq!(offset.to_string(), "+01:00:00.5");
        assert_eq!(
            "00:00:07".parse::<ClockOffset>().unwrap().as_micros(),
            7_000_000
        );
        assert!("2 minutes".parse::<ClockOffset>().is_err());
        assert!("-00:02".parse::<ClockOffset>().is_err());
        assert_eq!(parse_gap("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_gap("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_gap("00:10:00").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_gap("2.5").unwrap(), Duration::from_millis(2500));
        assert!(parse_gap("-5s").is_err());
        assert!(parse_gap("soon").is_err());
    }

    #[test]
    fn roster_puts_id_first_among_extras_and_rejects_duplicates() {
        let roster = Roster::parse(
            Path::new("roster.csv"),
            "id,name,company\nA1,Seán O'Brien,Acme\nA2,李小龍,\n",
        )
        .unwrap();
        let entry = roster.by_id("A1").unwrap();
        assert_eq!(entry.person.extra[0], ("id".to_string(), "A1".to_string()));
        assert_eq!(roster.by_name("seán o'brien").unwrap().id, "A1");
        let json = serde_json::to_string(&roster.by_id("A2").unwrap().person).unwrap();
        assert_eq!(json, r#"{"name":"李小龍","id":"A2","company":""}"#);
        let error =
            Roster::parse(Path::new("roster.csv"), "id,name\nA1,Ann\nA1,Bob\n").unwrap_err();
        assert!(error.to_string().contains("lines 2 and 3"), "{error}");
        let error = Roster::parse(Path::new("roster.csv"), "name,email\nAnn,a@b\n").unwrap_err();
        assert_eq!(error.line(), Some(1));
    }

    #[test]
    fn roster_photo_column_is_a_reference_relative_to_the_roster_not_an_extra() {
        let roster = Roster::parse(
            Path::new("/event/roster.csv"),
            "id,name,Photo,company\nA1,Ann,refs\\ann.jpg,Acme\nA2,Ben,,\nA3,Cat,./cat.png,\n",
        )
        .unwrap();
        let ann = roster.by_id("A1").unwrap();
        assert_eq!(ann.photo.as_deref(), Some("refs/ann.jpg"));
        assert_eq!(
            roster.reference_path(ann),
            Some(PathBuf::from("/event/refs/ann.jpg"))
        );
        assert_eq!(ann.person.get("photo"), None);
        let json = serde_json::to_string(&ann.person).unwrap();
        assert_eq!(json, r#"{"name":"Ann","id":"A1","company":"Acme"}"#);
        let ben = roster.by_id("A2").unwrap();
        assert_eq!(
            (ben.photo.as_ref(), roster.reference_path(ben)),
            (None, None)
        );
        assert_eq!(
            roster.by_id("A3").unwrap().photo.as_deref(),
            Some("cat.png")
        );
    }
}
