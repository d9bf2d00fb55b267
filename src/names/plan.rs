//! Names in a run: the settings `headshot run` carries, reading the shoot's slates from files,
//! and what a photo's person contributes to its caption, keywords and folder.
//!
//! Everything here is checked when the settings are built (caption tokens against the sheet's
//! columns), so the per-photo path only fills in values.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::parse_gap;
use super::{assign, read_slate, AssignError, AssignOptions, Assignments, NameSource, PhotoRef};
use super::{CodeReplacements, NameSheet, Person, Roster};
use crate::decode;
use crate::discover::ImageFormat;
use crate::error::ConfigError;
use crate::exif_info::CaptureTime;
use crate::naming::slug;
use crate::orient;

/// The caption written when names are in use and no `--caption` is given.
pub const DEFAULT_CAPTION: &str = "{name}, {event}";

/// The folder `--by-person` puts photos with no name in.
pub const UNNAMED_FOLDER: &str = "_unnamed";

/// The column of extra keywords, split on `;` or `,`.
pub const TAGS_COLUMN: &str = "tags";

/// Long edge slates are decoded at: what [`read_slate`]'s sharper second try looks at.
const SLATE_DECODE_LONG_EDGE: f64 = 2000.0;

/// Where a run's names come from.
#[derive(Debug, Clone)]
pub enum NamesFrom {
    Sheet(NameSheet),
    /// QR slates in the shoot; with a roster, payloads are attendee ids (or names) in it.
    Slates {
        roster: Option<Roster>,
    },
}

impl NamesFrom {
    /// The columns a caption may use besides `name` and `event`.
    pub fn columns(&self) -> Vec<String> {
        let (columns, reference) = match self {
            NamesFrom::Sheet(sheet) => (&sheet.columns, None),
            NamesFrom::Slates {
                roster: Some(roster),
            } => (&roster.columns, Some(super::sheet::PHOTO_COLUMN)),
            NamesFrom::Slates { roster: None } => return Vec::new(),
        };
        // A roster's reference photo is for face checks, not for captions.
        let taken = ["name", "file", "first_file", "time"]
            .into_iter()
            .chain(reference);
        let taken: Vec<&str> = taken.collect();
        columns
            .iter()
            .filter(|column| !taken.iter().any(|taken| column.eq_ignore_ascii_case(taken)))
            .cloned()
            .collect()
    }
}

/// Everything a run needs to know about names; the default is a run without names.
#[derive(Debug, Clone, Default)]
pub struct NamingConfig {
    pub source: Option<NamesFrom>,
    pub assign: AssignOptions,
    /// The caption template; `None` writes no caption.
    pub caption: Option<CaptionTemplate>,
    /// Each person's photos in a folder of their own ([`UNNAMED_FOLDER`] for the rest).
    pub by_person: bool,
    /// An `.xmp` sidecar per original, in the output tree.
    pub sidecars: bool,
    /// `--codes`: Photo Mechanic codes, already expanded in the sheet and roster; slate codes
    /// and corrections are expanded where they are read.
    pub codes: Option<CodeReplacements>,
}

impl NamingConfig {
    /// Checks the caption against the columns the names provide: `caption` is the user's
    /// template, or `None` for [`DEFAULT_CAPTION`] when names are in use (and no caption without).
    pub fn new(
        source: Option<NamesFrom>,
        assign: AssignOptions,
        caption: Option<&str>,
        by_person: bool,
        sidecars: bool,
    ) -> Result<Self, String> {
        let caption_text = match (caption, &source) {
            (Some(text), _) => Some(text),
            (None, Some(_)) => Some(DEFAULT_CAPTION),
            (None, None) => None,
        };
        let columns = source.as_ref().map(NamesFrom::columns).unwrap_or_default();
        let caption = caption_text
            .map(|text| CaptionTemplate::parse(text, &columns))
            .transpose()?;
        Ok(Self {
            source,
            assign,
            caption,
            by_person,
            sidecars,
            codes: None,
        })
    }
}

/// Naming settings as given (flags, or the shoot file), before anything is read or checked.
#[derive(Debug, Clone, Default)]
pub struct NamingSettings {
    /// `--names FILE`: a `file`, `first_file` or `time` sheet.
    pub names: Option<PathBuf>,
    /// `--slates`: QR slates in the shoot name the frames after them.
    pub slates: bool,
    /// `--roster FILE`: attendees by id, for slates.
    pub roster: Option<PathBuf>,
    /// `--max-gap DURATION`.
    pub max_gap: Option<String>,
    /// `--caption TEMPLATE`.
    pub caption: Option<String>,
    pub by_person: bool,
    pub sidecars: bool,
    /// `--codes FILE`: Photo Mechanic code replacements.
    pub codes: Option<PathBuf>,
}

impl NamingSettings {
    /// Reads and checks the sheet or roster and every setting; mistakes are configuration
    /// errors naming the file and line (or the flag).
    pub fn load(&self) -> Result<NamingConfig, ConfigError> {
        let usage = |message: String| ConfigError::Usage(message);
        let codes = self
            .codes
            .as_deref()
            .map(CodeReplacements::load)
            .transpose()
            .map_err(|error| usage(error.to_string()))?;
        let mut source = match (&self.names, self.slates) {
            (Some(_), true) => {
                return Err(usage(
                    "give either a names sheet or --slates, not both".to_string(),
                ))
            }
            (Some(path), false) => {
                if self.roster.is_some() {
                    return Err(usage(
                        "a roster is for --slates; a names sheet carries its own columns"
                            .to_string(),
                    ));
                }
                let sheet = NameSheet::load(path).map_err(|error| usage(error.to_string()))?;
                Some(NamesFrom::Sheet(sheet))
            }
            (None, true) => {
                let roster = self
                    .roster
                    .as_deref()
                    .map(Roster::load)
                    .transpose()
                    .map_err(|error| usage(error.to_string()))?;
                Some(NamesFrom::Slates { roster })
            }
            (None, false) => {
                if self.roster.is_some() {
                    return Err(usage("--roster needs --slates".to_string()));
                }
                None
            }
        };
        let max_gap = self
            .max_gap
            .as_deref()
            .map(parse_gap)
            .transpose()
            .map_err(|error| usage(format!("maximum gap: {error}")))?;
        if let (Some(codes), Some(source)) = (&codes, &mut source) {
            expand_codes(source, codes).map_err(usage)?;
        }
        let mut config = NamingConfig::new(
            source,
            AssignOptions { max_gap },
            self.caption.as_deref(),
            self.by_person,
            self.sidecars,
        )
        .map_err(usage)?;
        config.codes = codes;
        Ok(config)
    }
}

/// Names written as Photo Mechanic codes in the sheet or roster, expanded; an unknown
/// `=code=` is an error naming the row.
fn expand_codes(source: &mut NamesFrom, codes: &CodeReplacements) -> Result<(), String> {
    let (path, people): (&Path, Vec<(u64, &mut Person)>) = match source {
        NamesFrom::Sheet(sheet) => (
            sheet.path.as_path(),
            sheet
                .entries
                .iter_mut()
                .map(|entry| (entry.line, &mut entry.person))
                .collect(),
        ),
        NamesFrom::Slates {
            roster: Some(roster),
        } => (
            roster.path.as_path(),
            roster
                .entries
                .iter_mut()
                .map(|entry| (entry.line, &mut entry.person))
                .collect(),
        ),
        NamesFrom::Slates { roster: None } => return Ok(()),
    };
    for (line, person) in people {
        let expanded = codes
            .expand(&person.name)
            .map_err(|error| format!("{}:{line}: {error}", path.display()))?
            .into_owned();
        person.name = expanded;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum CaptionPiece {
    Literal(String),
    Name,
    Event,
    /// An extra column, as written in the template.
    Column(String),
}

/// A caption like `{name}, {event}` or `{name} ({company})`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionTemplate {
    source: String,
    pieces: Vec<CaptionPiece>,
}

impl CaptionTemplate {
    /// Parses a template whose tokens are `name`, `event` or one of `columns` (any case).
    pub fn parse(template: &str, columns: &[String]) -> Result<Self, String> {
        let error = |message: String| format!("caption {template:?}: {message}");
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(error("'}' without a matching '{'".to_string()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(error("a '{' is missing its closing '}'".to_string()));
            };
            if open > 0 {
                pieces.push(CaptionPiece::Literal(rest[..open].to_string()));
            }
            let token = &rest[open + 1..open + close];
            pieces.push(match token.to_ascii_lowercase().as_str() {
                "name" => CaptionPiece::Name,
                "event" => CaptionPiece::Event,
                _ if columns.iter().any(|c| c.eq_ignore_ascii_case(token)) => {
                    CaptionPiece::Column(token.to_string())
                }
                _ => {
                    let mut allowed = vec!["{name}".to_string(), "{event}".to_string()];
                    allowed.extend(columns.iter().map(|column| format!("{{{column}}}")));
                    return Err(error(format!(
                        "unknown token {{{token}}}; allowed: {} (extra columns come from the names sheet or roster)",
                        allowed.join(" ")
                    )));
                }
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(CaptionPiece::Literal(rest.to_string()));
        }
        Ok(Self {
            source: template.to_string(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The caption for one photo; values that are missing leave no stray separators
    /// (`{name}, {event}` with no name is just the event). `None` when nothing is left.
    pub fn render(&self, person: Option<&Person>, event: Option<&str>) -> Option<String> {
        // Literals between two filled values are kept; a separator next to an empty value goes,
        // and so do brackets around it (`{name} ({company})` with no company is just the name).
        let mut caption = String::new();
        let mut pending_literal = String::new();
        let mut any_value = false;
        let mut drop_closing = false;
        for piece in &self.pieces {
            let value = match piece {
                CaptionPiece::Literal(text) => {
                    let text = if std::mem::take(&mut drop_closing) {
                        text.trim_start_matches(CLOSING)
                    } else {
                        text
                    };
                    pending_literal.push_str(text);
                    continue;
                }
                CaptionPiece::Name => person.map(|p| p.name.as_str()),
                CaptionPiece::Event => event,
                CaptionPiece::Column(column) => person.and_then(|p| p.get(column)),
            }
            .map(str::trim)
            .filter(|value| !value.is_empty());
            let Some(value) = value else {
                if !any_value || is_separator(&pending_literal) {
                    pending_literal.clear();
                } else {
                    let kept = pending_literal
                        .trim_end_matches(|c: char| c.is_whitespace() || OPENING.contains(&c));
                    pending_literal.truncate(kept.len());
                }
                drop_closing = true;
                continue;
            };
            if any_value || !is_separator(&pending_literal) {
                caption.push_str(&pending_literal);
            }
            pending_literal.clear();
            caption.push_str(value);
            any_value = true;
        }
        if !is_separator(&pending_literal) {
            caption.push_str(&pending_literal);
        }
        let caption = caption.trim().to_string();
        (!caption.is_empty()).then_some(caption)
    }
}

/// Brackets and quotes dropped around an empty value.
const OPENING: &[char] = &['(', '[', '{', '"', '\'', '“', '«'];
const CLOSING: &[char] = &[')', ']', '}', '"', '\'', '”', '»'];

/// Text that only joins values (`, `, ` - `, ` · `): dropped when a value next to it is empty.
fn is_separator(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_whitespace() || matches!(c, ',' | ';' | '-' | '–' | '—' | '·' | '|' | '/'))
}

impl fmt::Display for CaptionTemplate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.source)
    }
}

/// Keywords for a photo: the person's name, the event, then the `tags` column split on `;` or
/// `,`; blanks and repeats (ignoring case) dropped, order kept.
pub fn keywords(person: Option<&Person>, event: Option<&str>) -> Vec<String> {
    let tags = person
        .and_then(|p| p.get(TAGS_COLUMN))
        .into_iter()
        .flat_map(|tags| tags.split([';', ',']));
    let candidates = person
        .map(|p| p.name.as_str())
        .into_iter()
        .chain(event)
        .chain(tags);
    let mut keywords: Vec<String> = Vec::new();
    for keyword in candidates.map(str::trim).filter(|k| !k.is_empty()) {
        if !keywords
            .iter()
            .any(|known| known.to_lowercase() == keyword.to_lowercase())
        {
            keywords.push(keyword.to_string());
        }
    }
    keywords
}

/// The folder `--by-person` puts a photo in: the slugged name, or [`UNNAMED_FOLDER`].
pub fn person_folder(person: Option<&Person>) -> String {
    person
        .map(|p| slug(&p.name))
        .unwrap_or_else(|| UNNAMED_FOLDER.to_string())
}

/// What naming needs to know about one photo of the shoot, in capture order.
#[derive(Debug, Clone, Copy)]
pub struct ShootPhoto<'a> {
    pub path: &'a Path,
    pub relative: &'a Path,
    pub capture_time: Option<&'a CaptureTime>,
    /// Which camera took it: slates name the following frames of their own camera only.
    pub camera: Option<&'a str>,
    /// `None` when the file is not a recognised image (it then never reads as a slate).
    pub format: Option<ImageFormat>,
    /// EXIF orientation, so a slate shot in portrait reads upright.
    pub orientation: u8,
}

/// Names every photo of a shoot (in capture order). With slates, each photo is decoded
/// shrunk (in parallel) and its QR code read; a photo that does not decode is no slate.
pub fn assign_shoot(
    source: &NamesFrom,
    photos: &[ShootPhoto<'_>],
    options: &AssignOptions,
    max_megapixels: u64,
) -> Result<Assignments, AssignError> {
    let refs: Vec<PhotoRef<'_>> = photos
        .iter()
        .map(|photo| PhotoRef {
            path: photo.path,
            relative: photo.relative,
            capture_time: photo.capture_time,
            camera: photo.camera,
            // Clock offsets are the run's (see `clocks`); here times are taken as written.
            clock_offset: super::ClockOffset::ZERO,
            clock_slate: false,
        })
        .collect();
    match source {
        NamesFrom::Sheet(sheet) => assign(&NameSource::Sheet(sheet), &refs, options),
        NamesFrom::Slates { roster } => {
            let payloads: Vec<Option<String>> = photos
                .par_iter()
                .map(|photo| {
                    photo.format.and_then(|format| {
                        read_slate_file(photo.path, format, photo.orientation, max_megapixels)
                    })
                })
                .collect();
            let source = NameSource::Slates {
                payloads: &payloads,
                roster: roster.as_ref(),
            };
            assign(&source, &refs, options)
        }
    }
}

/// Reads the QR code of a photo file: decoded shrunk (JPEG DCT scaling) to about the size
/// [`read_slate`] looks at, turned upright. `None` when no code reads or the file does not decode.
pub fn read_slate_file(
    path: &Path,
    format: ImageFormat,
    orientation: u8,
    max_megapixels: u64,
) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    let (width, height) = decode::probe_size(&bytes, format).ok()?;
    let long_edge = f64::from(width.max(height).max(1));
    let scale = (SLATE_DECODE_LONG_EDGE / long_edge).min(1.0);
    let decoded = decode::decode(&bytes, format, scale, max_megapixels).ok()?;
    drop(bytes);
    read_slate(&orient::to_upright(decoded.image, orientation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, extra: &[(&str, &str)]) -> Person {
        Person {
            name: name.to_string(),
            extra: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn captions_fill_columns_and_drop_separators_of_missing_values() {
        let columns = vec!["company".to_string(), "Email".to_string()];
        let default = CaptionTemplate::parse(DEFAULT_CAPTION, &columns).unwrap();
        let sean = person("Seán O'Brien", &[("company", "Acme"), ("Email", "")]);
        assert_eq!(
            default.render(Some(&sean), Some("RustConf")).as_deref(),
            Some("Seán O'Brien, RustConf")
        );
        assert_eq!(
            default.render(None, Some("RustConf")).as_deref(),
            Some("RustConf")
        );
        assert_eq!(
            default.render(Some(&sean), None).as_deref(),
            Some("Seán O'Brien")
        );
        assert_eq!(default.render(None, None), None);

        let company = CaptionTemplate::parse("{name} ({COMPANY}) at {event}", &columns).unwrap();
        assert_eq!(
            company.render(Some(&sean), Some("RustConf")).as_deref(),
            Some("Seán O'Brien (Acme) at RustConf")
        );
        let nobody = person("Ann", &[("company", "")]);
        assert_eq!(
            company.render(Some(&nobody), Some("RustConf")).as_deref(),
            Some("Ann at RustConf")
        );
        let dashes = CaptionTemplate::parse("{name} - {company} - {event}", &columns).unwrap();
        assert_eq!(
            dashes.render(Some(&nobody), Some("RustConf")).as_deref(),
            Some("Ann - RustConf")
        );
        let email = CaptionTemplate::parse("{name}, {email}", &columns).unwrap();
        assert_eq!(
            email.render(Some(&sean), None).as_deref(),
            Some("Seán O'Brien")
        );

        let error = CaptionTemplate::parse("{name} {colour}", &columns).unwrap_err();
        assert!(
            error.contains("{colour}") && error.contains("{company}"),
            "{error}"
        );
        assert!(CaptionTemplate::parse("{name", &columns).is_err());
        assert!(CaptionTemplate::parse("name}", &columns).is_err());
    }

    #[test]
    fn keywords_are_name_event_and_tags_without_repeats() {
        let ann = person("Ann", &[("tags", "speaker; Rust, ann ,,keynote")]);
        assert_eq!(
            keywords(Some(&ann), Some("RustConf")),
            ["Ann", "RustConf", "speaker", "Rust", "keynote"]
        );
        assert_eq!(keywords(None, Some("RustConf")), ["RustConf"]);
        assert!(keywords(None, None).is_empty());
    }

    #[test]
    fn person_folders_are_slugs() {
        assert_eq!(
            person_folder(Some(&person("Seán O'Brien", &[]))),
            "sean-obrien"
        );
        assert_eq!(person_folder(None), UNNAMED_FOLDER);
    }

    #[test]
    fn default_caption_only_with_names() {
        let without =
            NamingConfig::new(None, AssignOptions::default(), None, false, false).unwrap();
        assert!(without.caption.is_none());
        let sheet =
            NameSheet::parse(Path::new("n.csv"), "file,name,company\na.jpg,Ann,X\n").unwrap();
        let with = NamingConfig::new(
            Some(NamesFrom::Sheet(sheet.clone())),
            AssignOptions::default(),
            None,
            false,
            false,
        )
        .unwrap();
        assert_eq!(with.caption.unwrap().as_str(), DEFAULT_CAPTION);
        let error = NamingConfig::new(
            Some(NamesFrom::Sheet(sheet)),
            AssignOptions::default(),
            Some("{name} {file}"),
            false,
            false,
        )
        .unwrap_err();
        assert!(error.contains("{file}"), "{error}");
    }
}
