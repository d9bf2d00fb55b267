//! Reads the EXIF facts headshot uses (capture time, orientation, camera, exposure) with kamadak-exif.
//!
//! Broken EXIF never drops a photo: whatever parses is kept and the rest becomes warnings.

use std::io::{BufRead, Cursor, Seek};

use exif::{In, Tag, Value};
use serde::Serialize;

/// Capture time as the camera wrote it: local wall-clock time with optional sub-seconds and UTC offset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CaptureTime {
    /// `YYYY-MM-DDTHH:MM:SS` (no offset): sorts chronologically for one camera clock.
    pub local: String,
    /// Fractional seconds digits, e.g. `"25"` for .25 s.
    pub subsec: Option<String>,
    /// `+HH:MM` / `-HH:MM`, when the camera recorded it.
    pub offset: Option<String>,
}

impl CaptureTime {
    /// ISO 8601, e.g. `2024-05-03T14:03:22.25+02:00`.
    pub fn iso8601(&self) -> String {
        let mut text = self.local.clone();
        if let Some(subsec) = &self.subsec {
            text.push('.');
            text.push_str(subsec);
        }
        if let Some(offset) = &self.offset {
            text.push_str(offset);
        }
        text
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> &str {
        &self.local[..10]
    }

    /// `HH-MM-SS` (dashes so it is safe in file names).
    pub fn time_for_filename(&self) -> String {
        self.local[11..19].replace(':', "-")
    }

    /// Seconds since 0000-01-01 in the camera's local clock, with sub-seconds; for time matching.
    pub fn seconds(&self) -> f64 {
        let field = |range: std::ops::Range<usize>| self.local[range].parse::<i64>().unwrap_or(0);
        let days = days_from_civil(field(0..4), field(5..7), field(8..10));
        let whole = days * 86_400 + field(11..13) * 3600 + field(14..16) * 60 + field(17..19);
        let fraction = self
            .subsec
            .as_deref()
            .and_then(|digits| format!("0.{digits}").parse::<f64>().ok())
            .unwrap_or(0.0);
        whole as f64 + fraction
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// What headshot knows about a photo from its EXIF.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExifInfo {
    pub capture_time: Option<CaptureTime>,
    /// EXIF Orientation 1..=8; absent, 0 or out of range reads as 1.
    pub orientation: u8,
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens: Option<String>,
    /// As photographers write it: `1/125` or `2` (seconds).
    pub exposure_time: Option<String>,
    pub f_number: Option<f64>,
    pub iso: Option<u32>,
    /// Millimetres.
    pub focal_length: Option<f64>,
    pub artist: Option<String>,
    pub copyright: Option<String>,
    /// The camera body's serial number (EXIF BodySerialNumber).
    pub serial: Option<String>,
}

impl ExifInfo {
    /// Which camera took the photo: its body serial number when the EXIF has one, else its make
    /// and model in `folder` (two bodies of one model in one folder cannot be told apart).
    /// Slates and `first_file` rows name the following frames of the same camera only.
    pub fn camera_id(&self, folder: &std::path::Path) -> String {
        let camera = self.camera();
        match (&self.serial, camera) {
            (Some(serial), Some(camera)) => format!("{camera} #{serial}"),
            (Some(serial), None) => format!("#{serial}"),
            (None, camera) => format!(
                "{} in {}",
                camera.as_deref().unwrap_or("unknown camera"),
                folder.display()
            ),
        }
    }

    /// `Make Model`, without the make repeated when the model already starts with it.
    pub fn camera(&self) -> Option<String> {
        match (&self.make, &self.model) {
            (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
                Some(model.clone())
            }
            (Some(make), Some(model)) => Some(format!("{make} {model}")),
            (None, Some(model)) => Some(model.clone()),
            (Some(make), None) => Some(make.clone()),
            (None, None) => None,
        }
    }
}

/// Parsed EXIF plus the problems met while reading it.
pub struct ExifRead {
    pub info: ExifInfo,
    /// The raw parsed fields, for metadata policies that carry the original's EXIF over.
    pub exif: Option<exif::Exif>,
    pub warnings: Vec<String>,
}

/// Reads EXIF from a JPEG, PNG or TIFF byte stream. Never fails: problems become warnings.
pub fn read_exif(bytes: &[u8]) -> ExifRead {
    read_exif_from(&mut Cursor::new(bytes))
}

/// Like [`read_exif`], from any seekable reader (reads only as far as the EXIF block).
pub fn read_exif_from<R: BufRead + Seek>(reader: &mut R) -> ExifRead {
    let mut warnings = Vec::new();
    let mut exif_reader = exif::Reader::new();
    exif_reader.continue_on_error(true);
    // kamadak-exif is defensive, but a parser bug must not take a photo down with it.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        exif_reader.read_from_container(reader)
    }));
    let exif = match outcome {
        Ok(Ok(exif)) => Some(exif),
        Ok(Err(exif::Error::NotFound(_))) => None,
        Ok(Err(exif::Error::PartialResult(partial))) => {
            let (exif, errors) = partial.into_inner();
            for error in errors.iter().take(5) {
                warnings.push(format!("broken EXIF entry ignored: {error}"));
            }
            if errors.len() > 5 {
                warnings.push(format!(
                    "{} more broken EXIF entries ignored",
                    errors.len() - 5
                ));
            }
            Some(exif)
        }
        Ok(Err(error)) => {
            warnings.push(format!("EXIF unreadable, ignored: {error}"));
            None
        }
        Err(_) => {
            warnings.push("EXIF parser crashed; EXIF ignored".to_string());
            None
        }
    };
    let info = match &exif {
        Some(exif) => summarize(exif, &mut warnings),
        None => ExifInfo {
            orientation: 1,
            ..ExifInfo::default()
        },
    };
    ExifRead {
        info,
        exif,
        warnings,
    }
}

fn summarize(exif: &exif::Exif, warnings: &mut Vec<String>) -> ExifInfo {
    let text = |tag: Tag| ascii_field(exif, tag);
    let orientation = match exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
    {
        None => 1,
        Some(value @ 1..=8) => value as u8,
        Some(value) => {
            warnings.push(format!("EXIF Orientation {value} is not 1..8; taken as 1"));
            1
        }
    };
    let capture_time = [Tag::DateTimeOriginal, Tag::DateTimeDigitized, Tag::DateTime]
        .iter()
        .find_map(|&tag| {
            let raw = text(tag)?;
            match parse_exif_datetime(&raw) {
                Some(local) => Some((tag, local)),
                None => {
                    warnings.push(format!(
                        "EXIF {tag} {raw:?} is not a valid date and time; ignored"
                    ));
                    None
                }
            }
        })
        .map(|(tag, local)| {
            let (subsec_tag, offset_tag) = match tag {
                Tag::DateTimeOriginal => (Tag::SubSecTimeOriginal, Tag::OffsetTimeOriginal),
                Tag::DateTimeDigitized => (Tag::SubSecTimeDigitized, Tag::OffsetTimeDigitized),
                _ => (Tag::SubSecTime, Tag::OffsetTime),
            };
            let subsec = text(subsec_tag)
                .map(|digits| digits.trim().to_string())
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
            let offset = text(offset_tag)
                .map(|offset| offset.trim().to_string())
                .filter(|offset| is_utc_offset(offset));
            CaptureTime {
                local,
                subsec,
                offset,
            }
        });
    ExifInfo {
        capture_time,
        orientation,
        make: text(Tag::Make),
        model: text(Tag::Model),
        lens: text(Tag::LensModel),
        exposure_time: rational_field(exif, Tag::ExposureTime).map(format_exposure_time),
        f_number: rational_field(exif, Tag::FNumber).map(|(n, d)| n as f64 / d as f64),
        iso: exif
            .get_field(Tag::PhotographicSensitivity, In::PRIMARY)
            .and_then(|field| field.value.get_uint(0)),
        focal_length: rational_field(exif, Tag::FocalLength).map(|(n, d)| n as f64 / d as f64),
        artist: text(Tag::Artist),
        copyright: text(Tag::Copyright),
        serial: text(Tag::BodySerialNumber),
    }
}

/// A text field, trimmed of padding; `None` when absent or empty.
fn ascii_field(exif: &exif::Exif, tag: Tag) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    let Value::Ascii(ref parts) = field.value else {
        return None;
    };
    let bytes: Vec<u8> = parts.iter().flat_map(|part| part.iter().copied()).collect();
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

fn rational_field(exif: &exif::Exif, tag: Tag) -> Option<(u32, u32)> {
    match exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(ref values) => values
            .first()
            .filter(|value| value.denom != 0)
            .map(|value| (value.num, value.denom)),
        _ => None,
    }
}

fn format_exposure_time((num, denom): (u32, u32)) -> String {
    let seconds = num as f64 / denom as f64;
    if seconds >= 0.3 {
        format!("{}", (seconds * 10.0).round() / 10.0)
    } else {
        format!("1/{}", (1.0 / seconds).round())
    }
}

/// `YYYY:MM:DD HH:MM:SS` -> `YYYY-MM-DDTHH:MM:SS`, rejecting blanks and impossible values.
fn parse_exif_datetime(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let bytes = raw.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let digits_at = |positions: &[usize]| positions.iter().all(|&i| bytes[i].is_ascii_digit());
    if !digits_at(&[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| raw[range].parse::<u32>().ok();
    let (month, day) = (number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(format!(
        "{}-{}-{}T{}:{}:{}",
        &raw[0..4],
        &raw[5..7],
        &raw[8..10],
        &raw[11..13],
        &raw[14..16],
        &raw[17..19]
    ))
}

fn is_utc_offset(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 6
        && (bytes[0] == b'+' || bytes[0] == b'-')
        && bytes[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exif_datetime() {
        assert_eq!(
            parse_exif_datetime("2018:07:25 16:34:23").as_deref(),
            Some("2018-07-25T16:34:23")
        );
        assert_eq!(parse_exif_datetime("0000:00:00 00:00:00"), None);
        assert_eq!(parse_exif_datetime("    :  :     :  :  "), None);
        assert_eq!(parse_exif_datetime("2018:07:25"), None);
    }

    #[test]
    fn capture_time_seconds_orders_and_counts_subseconds() {
        let at = |local: &str, subsec: Option<&str>| CaptureTime {
            local: local.to_string(),
            subsec: subsec.map(str::to_string),
            offset: None,
        };
        let first = at("2024-05-03T23:59:59", Some("5"));
        let second = at("2024-05-04T00:00:00", Some("25"));
        assert!((second.seconds() - first.seconds() - 0.75).abs() < 1e-6);
        assert_eq!(second.iso8601(), "2024-05-04T00:00:00.25");
        assert_eq!(first.date(), "2024-05-03");
        assert_eq!(first.time_for_filename(), "23-59-59");
    }

    #[test]
    fn exposure_time_reads_like_a_photographer_writes_it() {
        assert_eq!(format_exposure_time((1, 125)), "1/125");
        assert_eq!(format_exposure_time((10, 1250)), "1/125");
        assert_eq!(format_exposure_time((2, 1)), "2");
    }

    #[test]
    fn camera_id_is_the_serial_else_make_model_and_folder() {
        let mut info = ExifInfo {
            make: Some("Canon".to_string()),
            model: Some("Canon EOS R6".to_string()),
            ..ExifInfo::default()
        };
        let folder = std::path::Path::new("shoot/ted");
        assert_eq!(info.camera_id(folder), "Canon EOS R6 in shoot/ted");
        info.serial = Some("012345".to_string());
        assert_eq!(info.camera_id(folder), "Canon EOS R6 #012345");
        assert_eq!(
            ExifInfo::default().camera_id(folder),
            "unknown camera in shoot/ted"
        );
    }

    #[test]
    fn no_exif_means_upright_and_no_warning() {
        let read = read_exif(b"\xff\xd8\xff\xd9");
        assert_eq!(read.info.orientation, 1);
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    }
}
