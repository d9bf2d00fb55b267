//! Reads the EXIF facts headshot uses (capture time, orientation, camera, exposure) with kamadak-exif.
//!
//! Broken EXIF never drops a photo: whatever parses is kept and the rest becomes warnings.

use std::io::{BufRead, Cursor, Seek};

use exif::{In, Tag, Value};
use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::SignedDuration;
use serde::Serialize;

/// Capture time as the camera wrote it, typed once here: the camera's wall clock (civil date
/// and time, sub-seconds included) and, when written, its UTC offset (OffsetTimeOriginal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaptureTime {
    /// The camera's wall clock; sorts chronologically for one camera.
    pub local: DateTime,
    /// How many sub-second digits the camera wrote (0: none), so they are written back as read.
    pub subsec_digits: u8,
    /// The camera's UTC offset, when it recorded one.
    pub offset: Option<Offset>,
}

impl CaptureTime {
    /// From EXIF text: `YYYY:MM:DD HH:MM:SS`, sub-second digits (`"35"` for .35 s) and
    /// `±HH:MM`. The error names the field that is not valid.
    pub fn from_exif(
        date_time: &str,
        subsec: Option<&str>,
        offset: Option<&str>,
    ) -> Result<Self, &'static str> {
        // Some writers pad or append to the 19 characters of the standard form.
        let date_time = date_time.trim();
        let head = date_time.get(..19).unwrap_or(date_time);
        let mut local =
            DateTime::strptime("%Y:%m:%d %H:%M:%S", head).map_err(|_| "DateTimeOriginal")?;
        let mut subsec_digits = 0;
        if let Some(digits) = subsec {
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err("SubSecTimeOriginal");
            }
            let nine: String = digits
                .chars()
                .chain(std::iter::repeat('0'))
                .take(9)
                .collect();
            let nanos: i32 = nine.parse().map_err(|_| "SubSecTimeOriginal")?;
            local = local
                .with()
                .subsec_nanosecond(nanos)
                .build()
                .map_err(|_| "SubSecTimeOriginal")?;
            subsec_digits = digits.len().min(9) as u8;
        }
        let offset = offset
            .map(|text| {
                let valid_shape = text.len() == 6 && text.starts_with(['+', '-']);
                jiff::fmt::strtime::parse("%:z", text)
                    .ok()
                    .and_then(|parsed| parsed.offset())
                    .filter(|_| valid_shape)
                    .ok_or("OffsetTimeOriginal")
            })
            .transpose()?;
        Ok(Self {
            local,
            subsec_digits,
            offset,
        })
    }

    /// ISO 8601, e.g. `2024-05-03T14:03:22.25+02:00`.
    pub fn iso8601(&self) -> String {
        let mut text = self.local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        if let Some(digits) = self.exif_subsec() {
            text.push('.');
            text.push_str(&digits);
        }
        text.push_str(&self.exif_offset().unwrap_or_default());
        text
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        self.local.strftime("%Y-%m-%d").to_string()
    }

    /// `HH-MM-SS` (dashes so it is safe in file names).
    pub fn time_for_filename(&self) -> String {
        self.local.strftime("%H-%M-%S").to_string()
    }

    /// EXIF DateTimeOriginal: `YYYY:MM:DD HH:MM:SS`.
    pub fn exif_date_time(&self) -> String {
        self.local.strftime("%Y:%m:%d %H:%M:%S").to_string()
    }

    /// EXIF SubSecTimeOriginal: the digits as the camera wrote them, if it did.
    pub fn exif_subsec(&self) -> Option<String> {
        let digits = usize::from(self.subsec_digits);
        (digits > 0).then(|| format!("{:09}", self.local.subsec_nanosecond())[..digits].to_string())
    }

    /// EXIF OffsetTimeOriginal: `±HH:MM`, if recorded.
    pub fn exif_offset(&self) -> Option<String> {
        self.offset.map(|offset| {
            let seconds = offset.seconds();
            let sign = if seconds < 0 { '-' } else { '+' };
            let minutes = seconds.unsigned_abs() / 60;
            format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
        })
    }

    /// The wall clock moved by `offset` (a clock correction); saturates at the calendar's ends.
    pub fn corrected(&self, offset: SignedDuration) -> DateTime {
        self.local.saturating_add(offset)
    }
}

/// The manifest and `inspect --json` show a capture time as ISO 8601 text.
impl Serialize for CaptureTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.iso8601())
    }
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
        .find_map(|&tag| read_capture_time(exif, tag, warnings));
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

/// The capture time of one EXIF date tag with its sub-seconds and offset tags; an invalid date
/// is a warning (and the next tag is tried), an invalid sub-second or offset is dropped.
fn read_capture_time(
    exif: &exif::Exif,
    tag: Tag,
    warnings: &mut Vec<String>,
) -> Option<CaptureTime> {
    let raw = ascii_field(exif, tag)?;
    let (subsec_tag, offset_tag) = match tag {
        Tag::DateTimeOriginal => (Tag::SubSecTimeOriginal, Tag::OffsetTimeOriginal),
        Tag::DateTimeDigitized => (Tag::SubSecTimeDigitized, Tag::OffsetTimeDigitized),
        _ => (Tag::SubSecTime, Tag::OffsetTime),
    };
    let Ok(bare) = CaptureTime::from_exif(&raw, None, None) else {
        warnings.push(format!(
            "EXIF {tag} {raw:?} is not a valid date and time; ignored"
        ));
        return None;
    };
    let subsec = ascii_field(exif, subsec_tag);
    let offset = ascii_field(exif, offset_tag);
    let with_subsec = CaptureTime::from_exif(&raw, subsec.as_deref(), None).unwrap_or(bare);
    Some(CaptureTime {
        offset: CaptureTime::from_exif(&raw, None, offset.as_deref())
            .ok()
            .and_then(|time| time.offset),
        ..with_subsec
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exif_datetime() {
        let time = CaptureTime::from_exif("2018:07:25 16:34:23", None, None).unwrap();
        assert_eq!(time.iso8601(), "2018-07-25T16:34:23");
        for bad in [
            "0000:00:00 00:00:00",
            "    :  :     :  :  ",
            "2018:07:25",
            "2018:02:30 10:00:00",
        ] {
            assert!(CaptureTime::from_exif(bad, None, None).is_err(), "{bad}");
        }
        assert_eq!(
            CaptureTime::from_exif("2024:05:17 14:03:22", Some("3a"), None),
            Err("SubSecTimeOriginal")
        );
        assert_eq!(
            CaptureTime::from_exif("2024:05:17 14:03:22", None, Some("+2:00")),
            Err("OffsetTimeOriginal")
        );
        assert!(CaptureTime::from_exif("2024:05:17 14:03:2é", None, None).is_err());
        assert!(CaptureTime::from_exif("2024:05:17 14:03:22", None, Some("é0:00")).is_err());
    }

    #[test]
    fn capture_time_keeps_subseconds_and_offset_as_written() {
        let time =
            CaptureTime::from_exif("2024:05:03 23:59:59", Some("50"), Some("-05:30")).unwrap();
        assert_eq!(time.iso8601(), "2024-05-03T23:59:59.50-05:30");
        assert_eq!(time.exif_date_time(), "2024:05:03 23:59:59");
        assert_eq!(time.exif_subsec().as_deref(), Some("50"));
        assert_eq!(time.exif_offset().as_deref(), Some("-05:30"));
        assert_eq!(time.date(), "2024-05-03");
        assert_eq!(time.time_for_filename(), "23-59-59");
        // Sub-seconds count, across midnight.
        let later = CaptureTime::from_exif("2024:05:04 00:00:00", Some("25"), None).unwrap();
        assert_eq!(
            later.local.duration_since(time.local),
            SignedDuration::from_millis(750)
        );
        assert_eq!(
            time.corrected(SignedDuration::from_millis(750)),
            later.local
        );
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
