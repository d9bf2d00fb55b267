//! The EXIF (TIFF) block for a derivative: this run's fields, the source fields the
//! policy lets through, and the structural tags a JPEG's EXIF must have, encoded
//! with kamadak-exif's writer.

use std::collections::BTreeMap;
use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Context, Field, In, Rational, Tag, Value};

use super::{clean_text, MetadataError, MetadataPolicy, OutputMetadata};

/// Source tags [`MetadataPolicy::Privacy`] carries: capture time, camera, lens and
/// exposure. Anything not listed (GPS, serial numbers, owner, maker note, unique id,
/// user comment, ...) is dropped.
const PRIVACY_ALLOWED: &[Tag] = &[
    Tag::Make,
    Tag::Model,
    Tag::DateTimeOriginal,
    Tag::SubSecTimeOriginal,
    Tag::OffsetTimeOriginal,
    Tag::DateTimeDigitized,
    Tag::SubSecTimeDigitized,
    Tag::OffsetTimeDigitized,
    Tag::ExposureTime,
    Tag::FNumber,
    Tag::ExposureProgram,
    Tag::PhotographicSensitivity,
    Tag::SensitivityType,
    Tag::StandardOutputSensitivity,
    Tag::RecommendedExposureIndex,
    Tag::ISOSpeed,
    Tag::ISOSpeedLatitudeyyy,
    Tag::ISOSpeedLatitudezzz,
    Tag::ShutterSpeedValue,
    Tag::ApertureValue,
    Tag::BrightnessValue,
    Tag::ExposureBiasValue,
    Tag::MaxApertureValue,
    Tag::SubjectDistance,
    Tag::MeteringMode,
    Tag::LightSource,
    Tag::Flash,
    Tag::FocalLength,
    Tag::ExposureIndex,
    Tag::SensingMethod,
    Tag::CustomRendered,
    Tag::ExposureMode,
    Tag::WhiteBalance,
    Tag::DigitalZoomRatio,
    Tag::FocalLengthIn35mmFilm,
    Tag::SceneCaptureType,
    Tag::GainControl,
    Tag::Contrast,
    Tag::Saturation,
    Tag::Sharpness,
    Tag::SubjectDistanceRange,
    Tag::LensSpecification,
    Tag::LensMake,
    Tag::LensModel,
];

/// Known source tags [`MetadataPolicy::Keep`] still drops because they would be
/// false for the derivative or point into data that is not copied.
const KEEP_DROPPED: &[Tag] = &[
    // Not allowed in a JPEG's IFD0, or describing the source's own encoding.
    Tag::ImageWidth,
    Tag::ImageLength,
    Tag::BitsPerSample,
    Tag::Compression,
    Tag::PhotometricInterpretation,
    Tag::StripOffsets,
    Tag::SamplesPerPixel,
    Tag::RowsPerStrip,
    Tag::StripByteCounts,
    Tag::PlanarConfiguration,
    Tag::TileOffsets,
    Tag::TileByteCounts,
    Tag::JPEGInterchangeFormat,
    Tag::JPEGInterchangeFormatLength,
    Tag::YCbCrSubSampling,
    Tag::YCbCrCoefficients,
    Tag::ReferenceBlackWhite,
    Tag::CompressedBitsPerPixel,
    // Colour encoding: the derivative's is stated by ColorSpace and its ICC profile.
    Tag::TransferFunction,
    Tag::WhitePoint,
    Tag::PrimaryChromaticities,
    Tag::Gamma,
    // In the original's pixel frame, wrong after crop and resize.
    Tag::SubjectArea,
    Tag::SubjectLocation,
    Tag::FocalPlaneXResolution,
    Tag::FocalPlaneYResolution,
    Tag::FocalPlaneResolutionUnit,
    Tag::RelatedImageFileFormat,
    Tag::RelatedImageWidth,
    Tag::RelatedImageLength,
    // Holds offsets into the original file; they break once moved.
    Tag::MakerNote,
];

/// Fields keyed by IFD then tag number, so later inserts replace earlier ones and
/// duplicates in the source cannot reach the writer.
#[derive(Default)]
struct FieldSet {
    fields: BTreeMap<(u8, u16), Field>,
}

impl FieldSet {
    fn key(tag: Tag) -> (u8, u16) {
        let ifd = match tag.context() {
            Context::Tiff => 0,
            Context::Exif => 1,
            Context::Gps => 2,
            Context::Interop => 3,
            // A context added by a later kamadak-exif; sorted last.
            _ => 4,
        };
        (ifd, tag.number())
    }

    fn set(&mut self, tag: Tag, value: Value) {
        self.fields.insert(
            Self::key(tag),
            Field {
                tag,
                ifd_num: In::PRIMARY,
                value,
            },
        );
    }

    fn set_if_absent(&mut self, tag: Tag, value: Value) {
        if !self.fields.contains_key(&Self::key(tag)) {
            self.set(tag, value);
        }
    }

    fn set_text(&mut self, tag: Tag, text: Option<&str>) {
        if let Some(text) = text {
            self.set(tag, ascii(text));
        }
    }

    fn set_ratio(&mut self, tag: Tag, ratio: Option<super::Ratio>) {
        if let Some(ratio) = ratio {
            self.set(
                tag,
                Value::Rational(vec![Rational {
                    num: ratio.numerator,
                    denom: ratio.denominator,
                }]),
            );
        }
    }

    fn has_context(&self, context: Context) -> bool {
        self.fields
            .values()
            .any(|field| field.tag.context() == context)
    }
}

fn ascii(text: &str) -> Value {
    Value::Ascii(vec![clean_text(text).into_owned().into_bytes()])
}

/// The TIFF structure (byte-order mark onward) that follows "Exif\0\0".
pub(super) fn tiff_block(
    meta: &OutputMetadata,
    source: &[Field],
    policy: MetadataPolicy,
) -> Result<Vec<u8>, MetadataError> {
    let mut fields = FieldSet::default();
    for field in source {
        if field.ifd_num == In::PRIMARY && source_field_allowed(field, policy) {
            fields.set_if_absent(field.tag, field.value.clone());
        }
    }
    set_run_fields(&mut fields, meta);
    set_structural_fields(&mut fields, meta);

    let mut writer = Writer::new();
    for field in fields.fields.values() {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer
        .write(&mut tiff, false)
        .map_err(MetadataError::ExifEncode)?;
    Ok(tiff.into_inner())
}

fn source_field_allowed(field: &Field, policy: MetadataPolicy) -> bool {
    let known_ifd = matches!(
        field.tag.context(),
        Context::Tiff | Context::Exif | Context::Gps | Context::Interop
    );
    if !known_ifd || value_is_empty_or_unknown(&field.value) {
        return false;
    }
    match policy {
        MetadataPolicy::Privacy => PRIVACY_ALLOWED.contains(&field.tag),
        MetadataPolicy::Keep => {
            // Tags kamadak-exif does not know could hold offsets we cannot fix.
            field.tag.description().is_some() && !KEEP_DROPPED.contains(&field.tag)
        }
        MetadataPolicy::Strip => false,
    }
}

fn value_is_empty_or_unknown(value: &Value) -> bool {
    match value {
        Value::Byte(values) => values.is_empty(),
        Value::Ascii(strings) => strings.iter().all(|string| string.is_empty()),
        Value::Short(values) => values.is_empty(),
        Value::Long(values) => values.is_empty(),
        Value::Rational(values) => values.is_empty(),
        Value::SByte(values) => values.is_empty(),
        Value::Undefined(bytes, _) => bytes.is_empty(),
        Value::SShort(values) => values.is_empty(),
        Value::SLong(values) => values.is_empty(),
        Value::SRational(values) => values.is_empty(),
        Value::Float(values) => values.is_empty(),
        Value::Double(values) => values.is_empty(),
        Value::Unknown(..) => true,
    }
}

/// The fields this run sets; they replace the source's.
fn set_run_fields(fields: &mut FieldSet, meta: &OutputMetadata) {
    fields.set_text(Tag::ImageDescription, meta.caption.as_deref());
    fields.set_text(Tag::Artist, meta.creator.as_deref());
    fields.set_text(Tag::Copyright, meta.rights.as_deref());
    fields.set_text(Tag::Make, meta.camera_make.as_deref());
    fields.set_text(Tag::Model, meta.camera_model.as_deref());
    fields.set_text(Tag::LensModel, meta.lens_model.as_deref());
    if let Some(capture_time) = &meta.capture_time {
        fields.set_text(
            Tag::DateTimeOriginal,
            Some(capture_time.exif_date_time().as_str()),
        );
        fields.set_text(
            Tag::SubSecTimeOriginal,
            capture_time.exif_subsec().as_deref(),
        );
        fields.set_text(
            Tag::OffsetTimeOriginal,
            capture_time.exif_offset().as_deref(),
        );
    }
    fields.set_ratio(Tag::ExposureTime, meta.exposure_time);
    fields.set_ratio(Tag::FNumber, meta.f_number);
    fields.set_ratio(Tag::FocalLength, meta.focal_length);
    if let Some(iso) = meta.iso {
        match u16::try_from(iso) {
            Ok(iso) if iso < u16::MAX => {
                fields.set(Tag::PhotographicSensitivity, Value::Short(vec![iso]))
            }
            // EXIF 2.3: 65535 in PhotographicSensitivity means "see ISOSpeed".
            _ => {
                fields.set(Tag::PhotographicSensitivity, Value::Short(vec![u16::MAX]));
                fields.set(Tag::SensitivityType, Value::Short(vec![3]));
                fields.set(Tag::ISOSpeed, Value::Long(vec![iso]));
            }
        }
    }
}

/// Tags that describe the derivative itself, and the ones a JPEG's EXIF must have
/// (exiftool -validate checks them).
fn set_structural_fields(fields: &mut FieldSet, meta: &OutputMetadata) {
    fields.set(Tag::Orientation, Value::Short(vec![1]));
    fields.set_if_absent(
        Tag::XResolution,
        Value::Rational(vec![Rational { num: 72, denom: 1 }]),
    );
    fields.set_if_absent(
        Tag::YResolution,
        Value::Rational(vec![Rational { num: 72, denom: 1 }]),
    );
    fields.set_if_absent(Tag::ResolutionUnit, Value::Short(vec![2]));
    // Centred chroma siting, as libjpeg/mozjpeg encode.
    fields.set(Tag::YCbCrPositioning, Value::Short(vec![1]));
    // 2.32: the first version with the OffsetTime tags.
    fields.set(Tag::ExifVersion, Value::Undefined(b"0232".to_vec(), 0));
    fields.set(Tag::FlashpixVersion, Value::Undefined(b"0100".to_vec(), 0));
    fields.set(
        Tag::ColorSpace,
        Value::Short(vec![if meta.srgb { 1 } else { 0xffff }]),
    );
    fields.set(
        Tag::ComponentsConfiguration,
        Value::Undefined(vec![1, 2, 3, 0], 0),
    );
    fields.set(
        Tag::PixelXDimension,
        Value::Long(vec![meta.pixel_size.width]),
    );
    fields.set(
        Tag::PixelYDimension,
        Value::Long(vec![meta.pixel_size.height]),
    );
    if fields.has_context(Context::Gps) {
        fields.set_if_absent(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{CaptureTime, Ratio};

    fn source_fields() -> Vec<Field> {
        let field = |tag, value| Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        };
        vec![
            field(Tag::Make, Value::Ascii(vec![b"NIKON".to_vec()])),
            field(Tag::Orientation, Value::Short(vec![6])),
            field(
                Tag::ImageDescription,
                Value::Ascii(vec![b"OLYMPUS DIGITAL CAMERA".to_vec()]),
            ),
            field(
                Tag::GPSLatitude,
                Value::Rational(vec![Rational { num: 43, denom: 1 }; 3]),
            ),
            field(Tag::BodySerialNumber, Value::Ascii(vec![b"1234".to_vec()])),
            field(Tag::CameraOwnerName, Value::Ascii(vec![b"Owner".to_vec()])),
            field(Tag::MakerNote, Value::Undefined(vec![1, 2, 3], 0)),
            field(Tag::PixelXDimension, Value::Long(vec![6000])),
            field(
                Tag::ExposureTime,
                Value::Rational(vec![Rational { num: 1, denom: 60 }]),
            ),
            field(Tag(Context::Tiff, 0x9c9b), Value::Byte(vec![65, 0])), // XPTitle
            field(Tag::LensSerialNumber, Value::Ascii(vec![])),
            Field {
                tag: Tag::Model,
                ifd_num: In::THUMBNAIL,
                value: Value::Ascii(vec![b"thumb".to_vec()]),
            },
        ]
    }

    fn read_back(tiff: Vec<u8>) -> exif::Exif {
        exif::Reader::new().read_raw(tiff).expect("our TIFF parses")
    }

    fn ascii_of(exif: &exif::Exif, tag: Tag) -> Option<String> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(strings) => Some(String::from_utf8_lossy(&strings[0]).into_owned()),
            _ => None,
        }
    }

    fn sample_meta() -> OutputMetadata {
        let mut meta = OutputMetadata::new(640, 800);
        meta.caption = Some("Seán O'Brien, RustConf".into());
        meta.creator = Some("Ann Photo".into());
        meta.capture_time = Some(
            CaptureTime::from_exif("2024:05:17 14:03:22", Some("35"), Some("+02:00"))
                .expect("valid"),
        );
        meta.f_number = Some(Ratio::new(28, 10));
        meta
    }

    #[test]
    fn privacy_keeps_camera_and_exposure_only() {
        let exif = read_back(
            tiff_block(&sample_meta(), &source_fields(), MetadataPolicy::Privacy).expect("tiff"),
        );
        assert_eq!(ascii_of(&exif, Tag::Make).as_deref(), Some("NIKON"));
        assert!(exif.get_field(Tag::ExposureTime, In::PRIMARY).is_some());
        assert_eq!(
            ascii_of(&exif, Tag::ImageDescription).as_deref(),
            Some("Seán O'Brien, RustConf")
        );
        for dropped in [
            Tag::GPSLatitude,
            Tag::BodySerialNumber,
            Tag::CameraOwnerName,
            Tag::MakerNote,
            Tag(Context::Tiff, 0x9c9b),
        ] {
            assert!(
                exif.get_field(dropped, In::PRIMARY).is_none(),
                "{dropped} kept"
            );
        }
        assert!(exif.get_field(Tag::Model, In::THUMBNAIL).is_none());
        let orientation = exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .expect("orientation");
        assert_eq!(orientation.value.get_uint(0), Some(1));
        let width = exif
            .get_field(Tag::PixelXDimension, In::PRIMARY)
            .expect("width");
        assert_eq!(width.value.get_uint(0), Some(640));
    }

    #[test]
    fn keep_carries_source_but_rewrites_structure() {
        let exif = read_back(
            tiff_block(&sample_meta(), &source_fields(), MetadataPolicy::Keep).expect("tiff"),
        );
        assert!(exif.get_field(Tag::GPSLatitude, In::PRIMARY).is_some());
        assert!(exif.get_field(Tag::GPSVersionID, In::PRIMARY).is_some());
        assert!(exif.get_field(Tag::BodySerialNumber, In::PRIMARY).is_some());
        assert!(exif.get_field(Tag::MakerNote, In::PRIMARY).is_none());
        assert!(exif
            .get_field(Tag(Context::Tiff, 0x9c9b), In::PRIMARY)
            .is_none());
        // Zero-length source values are dropped rather than written as count 0.
        assert!(exif.get_field(Tag::LensSerialNumber, In::PRIMARY).is_none());
        // This run's caption replaces the camera's.
        assert_eq!(
            ascii_of(&exif, Tag::ImageDescription).as_deref(),
            Some("Seán O'Brien, RustConf")
        );
        let orientation = exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .expect("orientation");
        assert_eq!(orientation.value.get_uint(0), Some(1));
        let width = exif
            .get_field(Tag::PixelXDimension, In::PRIMARY)
            .expect("width");
        assert_eq!(width.value.get_uint(0), Some(640));
    }

    #[test]
    fn capture_time_and_iso_overflow() {
        let mut meta = sample_meta();
        meta.iso = Some(102_400);
        let exif = read_back(tiff_block(&meta, &[], MetadataPolicy::Privacy).expect("tiff"));
        assert_eq!(
            ascii_of(&exif, Tag::DateTimeOriginal).as_deref(),
            Some("2024:05:17 14:03:22")
        );
        assert_eq!(
            ascii_of(&exif, Tag::SubSecTimeOriginal).as_deref(),
            Some("35")
        );
        assert_eq!(
            ascii_of(&exif, Tag::OffsetTimeOriginal).as_deref(),
            Some("+02:00")
        );
        let iso = exif
            .get_field(Tag::ISOSpeed, In::PRIMARY)
            .expect("ISOSpeed");
        assert_eq!(iso.value.get_uint(0), Some(102_400));
        let sensitivity = exif
            .get_field(Tag::PhotographicSensitivity, In::PRIMARY)
            .expect("sensitivity");
        assert_eq!(sensitivity.value.get_uint(0), Some(65535));
    }
}
