//! Who is in which frame: turns a name sheet or a run of QR slates into a person per photo,
//! plus the lists a volunteer reviews (photos with no name, names with no photo, …).
//!
//! Four ways to say it, all checked before any photo is processed:
//! - a sheet with a `file` column: one row per file;
//! - a sheet with a `first_file` column: a person owns that frame and the following ones of
//!   the same camera (in capture order) up to that camera's next row's frame;
//! - a sheet with a `time` column: each photo goes to the latest entry at or before its capture
//!   time (see [`assign`] for the exact rule);
//! - QR slates: a photo whose QR code reads is a slate, and the frames after it on the same
//!   camera belong to the person it names until that camera's next slate.
//!
//! Cameras (`PhotoRef::camera`) shoot at once and interleave in capture order: each runs on its
//! own, so one photographer's slate never names another's frames.
//!
//! [`assign`] is a pure function of the sheet (or per-photo slate readings) and the photos in
//! capture order; [`read_slate`] reads one photo's QR code; [`render_cards`] prints the slates.

pub mod cards;
pub mod codes;
pub mod overrides;
pub mod plan;
pub mod sheet;
pub mod slates;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use jiff::civil::{DateTime, Time};
use jiff::SignedDuration;

use crate::exif_info::CaptureTime;

pub use cards::{render_card, render_cards, Card, CardError, CardSet};
pub use codes::{CodeError, CodeReplacements, UnknownCode};
pub use plan::{
    assign_shoot, keywords, person_folder, read_slate_file, CaptionTemplate, NamesFrom,
    NamingConfig, NamingSettings, ShootPhoto, DEFAULT_CAPTION, UNNAMED_FOLDER,
};
pub use sheet::{
    parse_gap, parse_sheet_time, ClockOffset, EntryKey, Layout, NameSheet, Person, Roster,
    RosterEntry, SheetEntry, SheetError, SheetTime, TimeSpanError,
};
pub use slates::{classify_payload, read_slate, SlatePayload};

/// What assignment needs to know about one photo. Pass them in capture order (then path).
#[derive(Debug, Clone, Copy)]
pub struct PhotoRef<'a> {
    /// The path as discovered (input folder joined with `relative`).
    pub path: &'a Path,
    /// Path relative to the input folder it was found in.
    pub relative: &'a Path,
    pub capture_time: Option<&'a CaptureTime>,
    /// Which camera took it (see `ExifInfo::camera_id`): a slate or a `first_file` row names
    /// the following frames of its own camera only. `None` for all: one camera.
    pub camera: Option<&'a str>,
    /// Added to its capture time before matching a `time` sheet: its camera's clock offset.
    pub clock_offset: ClockOffset,
    /// The frame is a clock slate (a `HEADSHOT-CLOCK` code): it names nobody and renders nothing.
    pub clock_slate: bool,
}

/// Where names come from.
#[derive(Debug, Clone, Copy)]
pub enum NameSource<'a> {
    Sheet(&'a NameSheet),
    /// `payloads[i]` is what [`read_slate`] returned for photo `i` (same order as the photos);
    /// with a roster, payloads are attendee ids (or names) looked up in it; without one, the
    /// payload is the name.
    Slates {
        payloads: &'a [Option<String>],
        roster: Option<&'a Roster>,
    },
}

/// Settings for the `time` layout; ignored by the others. Clock offsets are per photo
/// ([`PhotoRef::clock_offset`]): each camera's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssignOptions {
    /// A photo taken longer than this after its entry stays unnamed.
    pub max_gap: Option<Duration>,
}

/// What a photo is for: a portrait gets derivatives; a slate only names the frames after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Portrait,
    Slate,
    /// Left out by a correction: no outputs, neither failed nor to review.
    Rejected,
    /// A photographed `headshot clock` code: it sets its camera's clock offset, names nobody.
    ClockSlate,
}

/// Why a photo has the person it has: the sheet row, or the slate before it.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignedBy {
    Sheet {
        layout: Layout,
        sheet: PathBuf,
        line: u64,
    },
    /// `slate` is the slate photo's path relative to its input folder.
    Slate { slate: PathBuf },
    /// Unnamed, but its face matches `like`, a photo of the person (descriptor distance).
    Face { like: PathBuf, distance: f32 },
    /// A row of the output folder's `corrections.csv`, over anything else.
    Correction { line: u64, time: String, by: String },
}

/// For the manifest: `{"layout": "time", "sheet": "names.csv", "line": 7}` or
/// `{"layout": "slate", "slate": "IMG_0003.jpg"}`.
impl Serialize for AssignedBy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            AssignedBy::Sheet {
                layout,
                sheet,
                line,
            } => {
                map.serialize_entry("layout", layout)?;
                map.serialize_entry("sheet", sheet)?;
                map.serialize_entry("line", line)?;
            }
            AssignedBy::Slate { slate } => {
                map.serialize_entry("layout", "slate")?;
                map.serialize_entry("slate", slate)?;
            }
            AssignedBy::Face { like, distance } => {
                map.serialize_entry("layout", "face")?;
                map.serialize_entry("like", like)?;
                map.serialize_entry(
                    "distance",
                    &((f64::from(*distance) * 100.0).round() / 100.0),
                )?;
            }
            AssignedBy::Correction { line, time, by } => {
                map.serialize_entry("layout", "correction")?;
                map.serialize_entry("line", line)?;
                map.serialize_entry("time", time)?;
                map.serialize_entry("by", by)?;
            }
        }
        map.end()
    }
}

/// `time layout, names.csv line 7` or `slate IMG_0003.jpg`, for `headshot inspect`.
impl fmt::Display for AssignedBy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignedBy::Sheet {
                layout,
                sheet,
                line,
            } => write!(
                formatter,
                "{layout} layout, {} line {line}",
                sheet.display()
            ),
            AssignedBy::Slate { slate } => write!(formatter, "slate {}", slate.display()),
            AssignedBy::Face { like, distance } => write!(
                formatter,
                "face like {} (distance {distance:.2})",
                like.display()
            ),
            AssignedBy::Correction { line, by, .. } if by.is_empty() => {
                write!(formatter, "correction, corrections.csv line {line}")
            }
            AssignedBy::Correction { line, by, .. } => {
                write!(formatter, "correction, corrections.csv line {line} by {by}")
            }
        }
    }
}

/// Why a portrait got no name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unnamed {
    /// `file` layout: no row names this photo.
    NotInSheet,
    /// `first_file` layout: taken before the first listed frame.
    BeforeFirstRow,
    /// `time` layout: the photo has no capture time.
    NoCaptureTime,
    /// `time` layout: taken (after the clock offset) before the first entry of its day.
    BeforeFirstEntry,
    /// `time` layout: taken more than `max_gap` after its entry.
    TooLongAfterEntry { line: u64, gap_seconds: f64 },
    /// Slates: taken before the first slate.
    BeforeFirstSlate,
    /// Slates: follows a slate whose code is not in the roster.
    AfterUnmatchedSlate { slate: PathBuf },
    /// Follows a frame a correction marked as a slate without a name.
    AfterUnnamedSlate { slate: PathBuf },
    /// A correction (`unname`) says so.
    Corrected { line: u64 },
}

impl fmt::Display for Unnamed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unnamed::NotInSheet => formatter.write_str("no row names it"),
            Unnamed::BeforeFirstRow => formatter.write_str("taken before the first listed frame"),
            Unnamed::NoCaptureTime => formatter.write_str("no capture time"),
            Unnamed::BeforeFirstEntry => formatter.write_str("taken before the first entry"),
            Unnamed::TooLongAfterEntry { line, gap_seconds } => write!(
                formatter,
                "taken {gap_seconds:.1} s after the entry on line {line}, more than the maximum gap"
            ),
            Unnamed::BeforeFirstSlate => formatter.write_str("taken before the first slate"),
            Unnamed::AfterUnmatchedSlate { slate } => write!(
                formatter,
                "follows slate {} whose code is not in the roster",
                slate.display()
            ),
            Unnamed::AfterUnnamedSlate { slate } => write!(
                formatter,
                "follows {}, marked a slate without a name",
                slate.display()
            ),
            Unnamed::Corrected { line } => {
                write!(formatter, "unnamed by corrections.csv line {line}")
            }
        }
    }
}

/// One photo's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoAssignment {
    pub role: Role,
    /// For a slate: the person it announces (or `None` when its code is not in the roster).
    pub person: Option<Person>,
    pub assigned_by: Option<AssignedBy>,
    /// 1-based number of this portrait among the portraits of the same name, in capture order.
    pub person_seq: Option<usize>,
    /// Why a portrait has no person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unnamed: Option<Unnamed>,
}

/// A portrait nobody has named yet: what a photo is before (or without) assignment.
impl Default for PhotoAssignment {
    fn default() -> Self {
        Self {
            role: Role::Portrait,
            person: None,
            assigned_by: None,
            person_seq: None,
            unnamed: None,
        }
    }
}

/// Where a name was given: a sheet or roster row, or a slate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NameOrigin {
    Row { file: PathBuf, line: u64 },
    Slate { slate: PathBuf },
}

impl fmt::Display for NameOrigin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameOrigin::Row { file, line } => write!(formatter, "{} line {line}", file.display()),
            NameOrigin::Slate { slate } => write!(formatter, "slate {}", slate.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnnamedPhoto {
    pub photo: PathBuf,
    pub reason: Unnamed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameWithoutPhoto {
    pub name: String,
    /// The first row (or slate) that gave the name.
    pub origin: NameOrigin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingFile {
    pub line: u64,
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedSlate {
    pub slate: PathBuf,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignCode {
    pub photo: PathBuf,
    pub payload: String,
}

/// What a volunteer should look at after a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Review {
    /// Portraits with no person, in capture order.
    pub unnamed_photos: Vec<UnnamedPhoto>,
    /// Names (sheet rows, roster attendees, slates) that no portrait got.
    pub names_without_photos: Vec<NameWithoutPhoto>,
    /// `file` / `first_file` rows whose file is not among the photos.
    pub missing_files: Vec<MissingFile>,
    /// Slates whose code is neither an id nor a name in the roster.
    pub unmatched_slates: Vec<UnmatchedSlate>,
    /// QR codes that are not slates (URLs, contact cards…, e.g. on a badge); the photo stays a portrait.
    pub foreign_codes: Vec<ForeignCode>,
    /// Anything else odd, one readable line each (e.g. sheet rows out of capture order).
    pub warnings: Vec<String>,
    /// Named photos whose face is not the face of the person's other photos.
    pub face_mismatches: Vec<FaceMismatch>,
}

/// A photo whose face does not match the other photos of the person it is named for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceMismatch {
    pub photo: PathBuf,
    pub person: String,
    /// Who the face looks like instead: another person's name, or unnamed photos.
    pub looks_like: Option<String>,
}

impl Review {
    /// True when there is nothing to review.
    pub fn is_clean(&self) -> bool {
        self == &Review::default()
    }
}

/// Every photo's outcome (same order as the photos given) and the review lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignments {
    pub photos: Vec<PhotoAssignment>,
    pub review: Review,
}

/// Sheet rows that cannot be matched to photos unambiguously: configuration errors (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error(
        "{}:{line}: {file:?} matches {} photos ({}); write more of its path",
        sheet.display(),
        candidates.len(),
        list_paths(candidates)
    )]
    AmbiguousFile {
        sheet: PathBuf,
        line: u64,
        file: String,
        candidates: Vec<PathBuf>,
    },
    #[error(
        "{}:{line}: {file:?} is the same photo ({}) as line {first_line}: a file named twice",
        sheet.display(),
        photo.display()
    )]
    SamePhotoTwice {
        sheet: PathBuf,
        photo: PathBuf,
        file: String,
        first_line: u64,
        line: u64,
    },
    #[error("{payloads} slate readings for {photos} photos: pass one per photo, in photo order")]
    SlateCount { payloads: usize, photos: usize },
}

fn list_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    let more = paths.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Gives each photo (in capture order) its person and role, and lists what needs review.
///
/// Matching rules:
/// - `file` and `first_file` rows name a photo by its path relative to the input folder, or by
///   any trailing part of its path (a bare file name) that names exactly one photo; an exact
///   match wins over a case-insensitive one. A name matching several photos is an error.
///   In `first_file`, rows are ordered by their frame's capture position (a sheet row out of
///   capture order is warned about, not trusted to its sheet position).
/// - `time`: each capture time (sub-seconds included) plus `clock_offset` is compared with the
///   entries; the photo goes to the latest entry at or before it. A dated entry is an instant; a
///   bare time of day stands for that time on the photo's own (corrected) date, so an undated
///   sheet never carries a person across midnight. Ties go to the later sheet line. A photo more
///   than `max_gap` after its entry, or with no capture time, stays unnamed.
/// - slates: see [`classify_payload`] for which codes count; a slate's person owns the
///   portraits after it up to the next slate.
pub fn assign(
    source: &NameSource<'_>,
    photos: &[PhotoRef<'_>],
    options: &AssignOptions,
) -> Result<Assignments, AssignError> {
    let mut outcome = match source {
        NameSource::Sheet(sheet) => match sheet.layout {
            Layout::File => assign_by_file(sheet, photos)?,
            Layout::FirstFile => assign_by_first_file(sheet, photos)?,
            Layout::Time => assign_by_time(sheet, photos, options),
        },
        NameSource::Slates { payloads, roster } => assign_by_slates(payloads, *roster, photos)?,
    };
    for (assignment, photo) in outcome.photos.iter_mut().zip(photos) {
        if photo.clock_slate {
            *assignment = PhotoAssignment {
                role: Role::ClockSlate,
                ..PhotoAssignment::default()
            };
        }
    }
    outcome.finish(photos);
    Ok(outcome.into_assignments())
}

/// Work in progress shared by the layouts.
struct Outcome {
    photos: Vec<PhotoAssignment>,
    review: Review,
    /// Every name given, with where it was first given, in order.
    known_names: Vec<(String, NameOrigin)>,
}

impl Outcome {
    fn new(count: usize) -> Self {
        Self {
            photos: vec![PhotoAssignment::default(); count],
            review: Review::default(),
            known_names: Vec::new(),
        }
    }

    fn name(&mut self, index: usize, person: &Person, assigned_by: AssignedBy) {
        let photo = &mut self.photos[index];
        photo.person = Some(person.clone());
        photo.assigned_by = Some(assigned_by);
        photo.unnamed = None;
    }

    fn leave_unnamed(&mut self, index: usize, reason: Unnamed) {
        self.photos[index].unnamed = Some(reason);
    }

    fn know_sheet_rows(&mut self, sheet: &NameSheet) {
        for entry in &sheet.entries {
            self.known_names.push((
                entry.person.name.clone(),
                NameOrigin::Row {
                    file: sheet.path.clone(),
                    line: entry.line,
                },
            ));
        }
    }

    /// Person numbers, the unnamed list and the names-without-photos list.
    fn finish(&mut self, photos: &[PhotoRef<'_>]) {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (assignment, photo) in self.photos.iter_mut().zip(photos) {
            if assignment.role != Role::Portrait {
                continue;
            }
            match &assignment.person {
                Some(person) => {
                    let count = counts.entry(person.name.clone()).or_insert(0);
                    *count += 1;
                    assignment.person_seq = Some(*count);
                }
                None => self.review.unnamed_photos.push(UnnamedPhoto {
                    photo: photo.relative.to_path_buf(),
                    reason: assignment.unnamed.clone().unwrap_or(Unnamed::NotInSheet),
                }),
            }
        }
        let mut listed: HashSet<&str> = HashSet::new();
        for (name, origin) in &self.known_names {
            if !counts.contains_key(name) && listed.insert(name) {
                self.review.names_without_photos.push(NameWithoutPhoto {
                    name: name.clone(),
                    origin: origin.clone(),
                });
            }
        }
    }

    fn into_assignments(self) -> Assignments {
        Assignments {
            photos: self.photos,
            review: self.review,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// file and first_file

/// Finds photos by a volunteer's file reference.
pub(crate) struct PhotoFinder {
    /// Per photo: path components (as given), lower-cased copies.
    components: Vec<Vec<String>>,
    components_lower: Vec<Vec<String>>,
    relative: Vec<String>,
    relative_lower: Vec<String>,
    /// Lower-cased file name -> photos.
    by_file_name: HashMap<String, Vec<usize>>,
}

pub(crate) enum Found {
    One(usize),
    Several(Vec<usize>),
    None,
}

fn path_parts(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

impl PhotoFinder {
    pub(crate) fn new(photos: &[PhotoRef<'_>]) -> Self {
        let components: Vec<Vec<String>> = photos.iter().map(|p| path_parts(p.path)).collect();
        let lower = |parts: &Vec<String>| parts.iter().map(|part| part.to_lowercase()).collect();
        let components_lower: Vec<Vec<String>> = components.iter().map(lower).collect();
        let relative: Vec<String> = photos
            .iter()
            .map(|p| path_parts(p.relative).join("/"))
            .collect();
        let relative_lower = relative.iter().map(|r| r.to_lowercase()).collect();
        let mut by_file_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, parts) in components_lower.iter().enumerate() {
            if let Some(file_name) = parts.last() {
                by_file_name
                    .entry(file_name.clone())
                    .or_default()
                    .push(index);
            }
        }
        Self {
            components,
            components_lower,
            relative,
            relative_lower,
            by_file_name,
        }
    }

    /// Exact relative path, then a trailing part of the path; each exactly, then ignoring case.
    pub(crate) fn find(&self, key: &str) -> Found {
        let key_parts: Vec<String> = key
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .map(str::to_string)
            .collect();
        let Some(file_name) = key_parts.last() else {
            return Found::None;
        };
        let candidates = match self.by_file_name.get(&file_name.to_lowercase()) {
            Some(candidates) => candidates,
            None => return Found::None,
        };
        let key_lower = key.to_lowercase();
        let key_parts_lower: Vec<String> = key_parts.iter().map(|p| p.to_lowercase()).collect();
        let tries: [&dyn Fn(usize) -> bool; 4] = [
            &|index| self.relative[index] == key,
            &|index| self.components[index].ends_with(&key_parts),
            &|index| self.relative_lower[index] == key_lower,
            &|index| self.components_lower[index].ends_with(&key_parts_lower),
        ];
        for matches in tries {
            let found: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&index| matches(index))
                .collect();
            match found.as_slice() {
                [] => continue,
                [single] => return Found::One(*single),
                _ => return Found::Several(found),
            }
        }
        Found::None
    }
}

/// Resolves every row of a file-keyed sheet to a photo; missing files go to the review.
fn resolve_rows<'s>(
    sheet: &'s NameSheet,
    photos: &[PhotoRef<'_>],
    outcome: &mut Outcome,
) -> Result<Vec<(usize, &'s SheetEntry)>, AssignError> {
    let finder = PhotoFinder::new(photos);
    let mut resolved: Vec<(usize, &SheetEntry)> = Vec::new();
    let mut claimed: HashMap<usize, &SheetEntry> = HashMap::new();
    for entry in &sheet.entries {
        let EntryKey::File(file) = &entry.key else {
            continue;
        };
        match finder.find(file) {
            Found::One(index) => {
                if let Some(first) = claimed.get(&index) {
                    return Err(AssignError::SamePhotoTwice {
                        sheet: sheet.path.clone(),
                        photo: photos[index].relative.to_path_buf(),
                        file: file.clone(),
                        first_line: first.line,
                        line: entry.line,
                    });
                }
                claimed.insert(index, entry);
                resolved.push((index, entry));
            }
            Found::Several(indices) => {
                return Err(AssignError::AmbiguousFile {
                    sheet: sheet.path.clone(),
                    line: entry.line,
                    file: file.clone(),
                    candidates: indices
                        .iter()
                        .map(|&index| photos[index].path.to_path_buf())
                        .collect(),
                })
            }
            Found::None => outcome.review.missing_files.push(MissingFile {
                line: entry.line,
                file: file.clone(),
            }),
        }
    }
    Ok(resolved)
}

fn sheet_assigned_by(sheet: &NameSheet, entry: &SheetEntry) -> AssignedBy {
    AssignedBy::Sheet {
        layout: sheet.layout,
        sheet: sheet.path.clone(),
        line: entry.line,
    }
}

fn assign_by_file(sheet: &NameSheet, photos: &[PhotoRef<'_>]) -> Result<Outcome, AssignError> {
    let mut outcome = Outcome::new(photos.len());
    outcome.know_sheet_rows(sheet);
    for index in 0..photos.len() {
        outcome.leave_unnamed(index, Unnamed::NotInSheet);
    }
    for (index, entry) in resolve_rows(sheet, photos, &mut outcome)? {
        outcome.name(index, &entry.person, sheet_assigned_by(sheet, entry));
    }
    Ok(outcome)
}

fn assign_by_first_file(
    sheet: &NameSheet,
    photos: &[PhotoRef<'_>],
) -> Result<Outcome, AssignError> {
    let mut outcome = Outcome::new(photos.len());
    outcome.know_sheet_rows(sheet);
    let mut starts = resolve_rows(sheet, photos, &mut outcome)?;
    for pair in starts.windows(2) {
        let ((earlier_index, earlier), (later_index, later)) = (pair[0], pair[1]);
        let same_camera = photos[earlier_index].camera == photos[later_index].camera;
        if same_camera && later_index < earlier_index {
            outcome.review.warnings.push(format!(
                "{}: line {} ({}) comes after line {} ({}) but was taken earlier; \
                 rows are used in capture order, check the sheet",
                sheet.path.display(),
                later.line,
                photos[later_index].relative.display(),
                earlier.line,
                photos[earlier_index].relative.display(),
            ));
        }
    }
    starts.sort_by_key(|(index, _)| *index);
    let mut next_start = starts.iter().peekable();
    // Per camera: the row whose frame is that camera's latest start so far.
    let mut current: HashMap<Option<&str>, &SheetEntry> = HashMap::new();
    for (index, photo) in photos.iter().enumerate() {
        while let Some((start, entry)) = next_start.next_if(|(start, _)| *start <= index) {
            current.insert(photos[*start].camera, entry);
        }
        match current.get(&photo.camera).copied() {
            Some(entry) => outcome.name(index, &entry.person, sheet_assigned_by(sheet, entry)),
            None => outcome.leave_unnamed(index, Unnamed::BeforeFirstRow),
        }
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// time

/// The last entry at or before `at` in a list sorted by time (then line).
fn latest_at_or_before<'e, T: Ord + Copy>(
    list: &[(T, u64, &'e SheetEntry)],
    at: T,
) -> Option<(T, u64, &'e SheetEntry)> {
    let count = list.partition_point(|&(entry_at, _, _)| entry_at <= at);
    count.checked_sub(1).map(|last| list[last])
}

fn assign_by_time(sheet: &NameSheet, photos: &[PhotoRef<'_>], options: &AssignOptions) -> Outcome {
    let mut outcome = Outcome::new(photos.len());
    outcome.know_sheet_rows(sheet);
    // (instant or time of day, line, entry), sorted so that ties end on the later line.
    let mut dated: Vec<(DateTime, u64, &SheetEntry)> = Vec::new();
    let mut undated: Vec<(Time, u64, &SheetEntry)> = Vec::new();
    for entry in &sheet.entries {
        if let EntryKey::Time(time) = &entry.key {
            match time.date_time() {
                Some(instant) => dated.push((instant, entry.line, entry)),
                None => undated.push((time.time, entry.line, entry)),
            }
        }
    }
    dated.sort_by_key(|&(at, line, _)| (at, line));
    undated.sort_by_key(|&(at, line, _)| (at, line));
    let max_gap = options
        .max_gap
        .map(|gap| SignedDuration::try_from(gap).unwrap_or(SignedDuration::MAX));
    for (index, photo) in photos.iter().enumerate() {
        let Some(capture_time) = photo.capture_time else {
            outcome.leave_unnamed(index, Unnamed::NoCaptureTime);
            continue;
        };
        let corrected = capture_time.corrected(photo.clock_offset.as_duration());
        let from_dated = latest_at_or_before(&dated, corrected);
        let from_undated =
            latest_at_or_before(&undated, corrected.time()).map(|(time_of_day, line, entry)| {
                (corrected.date().to_datetime(time_of_day), line, entry)
            });
        let best = match (from_dated, from_undated) {
            (Some(a), Some(b)) => Some(if (b.0, b.1) > (a.0, a.1) { b } else { a }),
            (a, b) => a.or(b),
        };
        let Some((instant, line, entry)) = best else {
            outcome.leave_unnamed(index, Unnamed::BeforeFirstEntry);
            continue;
        };
        let gap = corrected.duration_since(instant);
        if max_gap.is_some_and(|max_gap| gap > max_gap) {
            outcome.leave_unnamed(
                index,
                Unnamed::TooLongAfterEntry {
                    line,
                    gap_seconds: gap.as_secs_f64(),
                },
            );
            continue;
        }
        outcome.name(index, &entry.person, sheet_assigned_by(sheet, entry));
    }
    outcome
}

// ---------------------------------------------------------------------------------------------
// slates

fn assign_by_slates(
    payloads: &[Option<String>],
    roster: Option<&Roster>,
    photos: &[PhotoRef<'_>],
) -> Result<Outcome, AssignError> {
    if payloads.len() != photos.len() {
        return Err(AssignError::SlateCount {
            payloads: payloads.len(),
            photos: photos.len(),
        });
    }
    let mut outcome = Outcome::new(photos.len());
    if let Some(roster) = roster {
        for entry in &roster.entries {
            outcome.known_names.push((
                entry.person.name.clone(),
                NameOrigin::Row {
                    file: roster.path.clone(),
                    line: entry.line,
                },
            ));
        }
    }
    // Per camera: the current person, and the slate that named them (or an unmatched slate).
    let mut current: HashMap<Option<&str>, (Option<Person>, PathBuf)> = HashMap::new();
    for (index, (payload, photo)) in payloads.iter().zip(photos).enumerate() {
        let slate_text = match payload.as_deref().map(classify_payload) {
            Some(SlatePayload::Slate(text)) => Some(text),
            // Sets its camera's clock; the person before it goes on.
            Some(SlatePayload::Clock(_)) => None,
            Some(SlatePayload::Foreign(text)) => {
                outcome.review.foreign_codes.push(ForeignCode {
                    photo: photo.relative.to_path_buf(),
                    payload: text,
                });
                None
            }
            None => None,
        };
        let slate_path = photo.relative.to_path_buf();
        if let Some(text) = slate_text {
            let person = match roster {
                Some(roster) => roster
                    .by_id(&text)
                    .or_else(|| roster.by_name(&text))
                    .map(|entry| entry.person.clone()),
                None => Some(Person::named(text.clone())),
            };
            match &person {
                Some(person) if roster.is_none() => outcome.known_names.push((
                    person.name.clone(),
                    NameOrigin::Slate {
                        slate: slate_path.clone(),
                    },
                )),
                Some(_) => {}
                None => outcome.review.unmatched_slates.push(UnmatchedSlate {
                    slate: slate_path.clone(),
                    payload: text,
                }),
            }
            let assignment = &mut outcome.photos[index];
            assignment.role = Role::Slate;
            assignment.assigned_by = Some(AssignedBy::Slate {
                slate: slate_path.clone(),
            });
            assignment.person = person.clone();
            current.insert(photo.camera, (person, slate_path));
            continue;
        }
        match current.get(&photo.camera) {
            None => outcome.leave_unnamed(index, Unnamed::BeforeFirstSlate),
            Some((None, slate)) => outcome.leave_unnamed(
                index,
                Unnamed::AfterUnmatchedSlate {
                    slate: slate.clone(),
                },
            ),
            Some((Some(person), slate)) => {
                let person = person.clone();
                outcome.name(
                    index,
                    &person,
                    AssignedBy::Slate {
                        slate: slate.clone(),
                    },
                );
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Shoot {
        paths: Vec<PathBuf>,
        relatives: Vec<PathBuf>,
        times: Vec<Option<CaptureTime>>,
        cameras: Vec<Option<String>>,
        offsets: Vec<ClockOffset>,
        clock_slates: Vec<bool>,
    }

    impl Shoot {
        /// `(relative path, "YYYY-MM-DDTHH:MM:SS[.fff]")` under `/shoot`.
        fn new(photos: &[(&str, Option<&str>)]) -> Self {
            let time = |text: &str| {
                let (local, subsec) = match text.split_once('.') {
                    Some((local, subsec)) => (local, Some(subsec)),
                    None => (text, None),
                };
                let exif_form = local.replace('-', ":").replace('T', " ");
                CaptureTime::from_exif(&exif_form, subsec, None).unwrap()
            };
            Self {
                paths: photos
                    .iter()
                    .map(|(relative, _)| Path::new("/shoot").join(relative))
                    .collect(),
                relatives: photos.iter().map(|(r, _)| PathBuf::from(r)).collect(),
                times: photos.iter().map(|(_, t)| t.map(time)).collect(),
                cameras: vec![None; photos.len()],
                offsets: vec![ClockOffset::ZERO; photos.len()],
                clock_slates: vec![false; photos.len()],
            }
        }

        /// The same, each photo taken by the camera its path starts with (`A/1.jpg`: camera A).
        fn by_camera(photos: &[&str]) -> Self {
            let mut shoot = Self::new(&photos.iter().map(|p| (*p, None)).collect::<Vec<_>>());
            shoot.cameras = photos
                .iter()
                .map(|p| p.split_once('/').map(|(camera, _)| camera.to_string()))
                .collect();
            shoot
        }

        fn refs(&self) -> Vec<PhotoRef<'_>> {
            (0..self.paths.len())
                .map(|i| PhotoRef {
                    path: &self.paths[i],
                    relative: &self.relatives[i],
                    capture_time: self.times[i].as_ref(),
                    camera: self.cameras[i].as_deref(),
                    clock_offset: self.offsets[i],
                    clock_slate: self.clock_slates[i],
                })
                .collect()
        }
    }

    fn sheet(text: &str) -> NameSheet {
        NameSheet::parse(Path::new("names.csv"), text).unwrap()
    }

    fn names(assignments: &Assignments) -> Vec<Option<&str>> {
        assignments
            .photos
            .iter()
            .map(|p| p.person.as_ref().map(|person| person.name.as_str()))
            .collect()
    }

    #[test]
    fn file_layout_matches_relative_paths_and_unique_bare_names() {
        let shoot = Shoot::new(&[
            ("day1/IMG_1.jpg", None),
            ("day2/IMG_1.jpg", None),
            ("day2/IMG_2.JPG", None),
            ("day2/IMG_3.jpg", None),
        ]);
        let names_csv = sheet(
            "file,name\nday1/IMG_1.jpg,Ann\nimg_2.jpg,Bob\nday2\\IMG_1.jpg,Cy\nIMG_9.jpg,Dee\n",
        );
        let result = assign(
            &NameSource::Sheet(&names_csv),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&result), [Some("Ann"), Some("Cy"), Some("Bob"), None]);
        assert_eq!(
            result.review.missing_files,
            [MissingFile {
                line: 5,
                file: "IMG_9.jpg".into()
            }]
        );
        assert_eq!(result.review.names_without_photos[0].name, "Dee");
        assert_eq!(
            result.review.unnamed_photos[0].photo,
            Path::new("day2/IMG_3.jpg")
        );
        assert_eq!(
            result.photos[2].assigned_by.as_ref().unwrap().to_string(),
            "file layout, names.csv line 3"
        );

        let ambiguous = sheet("file,name\nIMG_1.jpg,Ann\n");
        let error = assign(
            &NameSource::Sheet(&ambiguous),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("names.csv:2:")
                && message.contains("day1/IMG_1.jpg")
                && message.contains("day2/IMG_1.jpg"),
            "{message}"
        );

        let twice = sheet("file,name\nday2/IMG_3.jpg,Ann\nIMG_3.jpg,Bob\n");
        let message = assign(
            &NameSource::Sheet(&twice),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("line 2") && message.starts_with("names.csv:3:"),
            "{message}"
        );
    }

    #[test]
    fn first_file_owns_frames_up_to_the_next_row_in_capture_order() {
        let shoot = Shoot::new(&[
            ("a.jpg", None),
            ("b.jpg", None),
            ("c.jpg", None),
            ("d.jpg", None),
            ("e.jpg", None),
        ]);
        let names_csv = sheet("first_file,name\nd.jpg,Bob\nb.jpg,Ann\n");
        let result = assign(
            &NameSource::Sheet(&names_csv),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap();
        assert_eq!(
            names(&result),
            [None, Some("Ann"), Some("Ann"), Some("Bob"), Some("Bob")]
        );
        assert_eq!(result.photos[0].unnamed, Some(Unnamed::BeforeFirstRow));
        assert_eq!(result.photos[4].person_seq, Some(2));
        assert_eq!(
            result.review.warnings.len(),
            1,
            "{:?}",
            result.review.warnings
        );
    }

    #[test]
    fn slates_and_first_file_rows_name_frames_of_their_own_camera_only() {
        // Two cameras interleaved in capture order, each with its own slates.
        let shoot = Shoot::by_camera(&[
            "A/slate.jpg",
            "B/slate.jpg",
            "A/1.jpg",
            "B/1.jpg",
            "A/2.jpg",
            "B/slate2.jpg",
            "A/3.jpg",
            "B/2.jpg",
        ]);
        let slate = |text: &str| Some(text.to_string());
        let payloads = [
            slate("Ann"),
            slate("Bob"),
            None,
            None,
            None,
            slate("Cy"),
            None,
            None,
        ];
        let source = NameSource::Slates {
            payloads: &payloads,
            roster: None,
        };
        let result = assign(&source, &shoot.refs(), &AssignOptions::default()).unwrap();
        let portraits = |result: &Assignments| -> Vec<Option<String>> {
            result
                .photos
                .iter()
                .filter(|p| p.role == Role::Portrait)
                .map(|p| p.person.as_ref().map(|person| person.name.clone()))
                .collect()
        };
        let named = |names: &[&str]| -> Vec<Option<String>> {
            names.iter().map(|name| Some(name.to_string())).collect()
        };
        // A/1 B/1 A/2 A/3 B/2
        assert_eq!(
            portraits(&result),
            named(&["Ann", "Bob", "Ann", "Ann", "Cy"])
        );
        assert_eq!(result.photos[6].person_seq, Some(3));

        let rows = sheet(
            "first_file,name
A/slate.jpg,Ann
B/slate.jpg,Bob
B/slate2.jpg,Cy
",
        );
        let result = assign(
            &NameSource::Sheet(&rows),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap();
        assert_eq!(
            names(&result),
            [
                Some("Ann"),
                Some("Bob"),
                Some("Ann"),
                Some("Bob"),
                Some("Ann"),
                Some("Cy"),
                Some("Ann"),
                Some("Cy")
            ]
        );
        assert!(
            result.review.warnings.is_empty(),
            "{:?}",
            result.review.warnings
        );
    }

    #[test]
    fn time_layout_corrects_each_camera_by_its_own_offset_and_clock_slates_name_nobody() {
        // Camera A runs 5 s fast, camera B 3 s slow; both frames were taken at 10:00:01 real time.
        let mut shoot = Shoot::new(&[
            ("A/clock.jpg", Some("2024-05-03T09:59:55")),
            ("A/1.jpg", Some("2024-05-03T10:00:06")),
            ("B/1.jpg", Some("2024-05-03T09:59:58")),
        ]);
        shoot.cameras = vec![Some("A".into()), Some("A".into()), Some("B".into())];
        shoot.offsets = vec![
            "-00:00:05".parse().unwrap(),
            "-00:00:05".parse().unwrap(),
            "+00:00:03".parse().unwrap(),
        ];
        shoot.clock_slates = vec![true, false, false];
        let names_csv = sheet("time,name\n09:00:00,Ann\n10:00:00,Bob\n10:00:02,Cy\n");
        let result = assign(
            &NameSource::Sheet(&names_csv),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&result), [None, Some("Bob"), Some("Bob")]);
        assert_eq!(result.photos[0].role, Role::ClockSlate);
        assert_eq!(result.photos[2].person_seq, Some(2));
        assert!(result.review.unnamed_photos.is_empty());
    }

    #[test]
    fn time_layout_uses_offset_subseconds_days_and_max_gap() {
        let mut shoot = Shoot::new(&[
            ("1.jpg", Some("2024-05-03T09:59:59.90")),
            ("2.jpg", Some("2024-05-03T10:02:00.10")),
            ("3.jpg", Some("2024-05-03T10:02:00.40")),
            ("4.jpg", Some("2024-05-03T10:30:00")),
            ("5.jpg", Some("2024-05-04T00:03:00")),
            ("6.jpg", None),
        ]);
        // The camera runs 2 minutes fast: -00:02:00 brings 10:02:00.10 to 10:00:00.10.
        let names_csv = sheet("time,name\n10:00:00.25,Bob\n09:59:00,Ann\n2024-05-04 00:00:30,Cy\n");
        let options = AssignOptions {
            max_gap: Some(Duration::from_secs(600)),
        };
        shoot.offsets = vec!["-00:02:00".parse().unwrap(); 6];
        let result = assign(&NameSource::Sheet(&names_csv), &shoot.refs(), &options).unwrap();
        assert_eq!(
            names(&result),
            [None, Some("Ann"), Some("Bob"), None, Some("Cy"), None]
        );
        assert_eq!(result.photos[0].unnamed, Some(Unnamed::BeforeFirstEntry));
        assert!(matches!(
            result.photos[3].unnamed,
            Some(Unnamed::TooLongAfterEntry { line: 2, .. })
        ));
        assert_eq!(result.photos[5].unnamed, Some(Unnamed::NoCaptureTime));
        // Undated entries do not carry past midnight: without Cy, 5.jpg is before the day's first.
        let undated = sheet("time,name\n10:00:00,Bob\n");
        let result = assign(
            &NameSource::Sheet(&undated),
            &shoot.refs(),
            &AssignOptions::default(),
        )
        .unwrap();
        assert_eq!(result.photos[4].unnamed, Some(Unnamed::BeforeFirstEntry));
    }

    #[test]
    fn slates_name_the_frames_after_them() {
        let shoot = Shoot::new(&[
            ("0.jpg", None),
            ("1.jpg", None),
            ("2.jpg", None),
            ("3.jpg", None),
            ("4.jpg", None),
            ("5.jpg", None),
            ("6.jpg", None),
        ]);
        let roster =
            Roster::parse(Path::new("roster.csv"), "id,name\nA1,Ann\nB2,Bob\nC3,Cy\n").unwrap();
        let payloads = [
            None,
            Some("A1".to_string()),
            None,
            Some("https://example.org/badge/77".to_string()),
            Some("ZZ9".to_string()),
            None,
            Some("Bob".to_string()),
        ];
        let source = NameSource::Slates {
            payloads: &payloads,
            roster: Some(&roster),
        };
        let result = assign(&source, &shoot.refs(), &AssignOptions::default()).unwrap();
        let roles: Vec<Role> = result.photos.iter().map(|p| p.role).collect();
        assert_eq!(
            roles,
            [
                Role::Portrait,
                Role::Slate,
                Role::Portrait,
                Role::Portrait,
                Role::Slate,
                Role::Portrait,
                Role::Slate
            ]
        );
        assert_eq!(
            names(&result),
            [
                None,
                Some("Ann"),
                Some("Ann"),
                Some("Ann"),
                None,
                None,
                Some("Bob")
            ]
        );
        assert_eq!(result.photos[3].person_seq, Some(2));
        assert_eq!(result.review.unmatched_slates[0].payload, "ZZ9");
        assert_eq!(result.review.foreign_codes.len(), 1);
        let missing: Vec<&str> = result
            .review
            .names_without_photos
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(missing, ["Bob", "Cy"]);
        let json = serde_json::to_value(&result.photos[2]).unwrap();
        assert_eq!(
            json["assigned_by"],
            serde_json::json!({"layout": "slate", "slate": "1.jpg"})
        );
        assert_eq!(json["person"]["id"], "A1");

        let short = [None];
        let error = assign(
            &NameSource::Slates {
                payloads: &short,
                roster: None,
            },
            &shoot.refs(),
            &AssignOptions::default(),
        );
        assert!(matches!(error, Err(AssignError::SlateCount { .. })));
    }
}
