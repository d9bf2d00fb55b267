//! Metadata written into each derivative: one EXIF block, one XMP packet and one
//! IPTC-IIM record, kept in sync, so Lightroom, digiKam, Apple Photos, Flickr and
//! exiftool all find the attendee's name, the caption, the credit and the face region.
//!
//! The stage is pure data to bytes: [`jpeg_segments`] turns an [`OutputMetadata`]
//! (what this run sets) plus, optionally, the source photo's EXIF fields into APPn
//! segments for the encoder (`Compress::write_marker(Marker::APP(n), &bytes)`);
//! [`insert_segments_into_jpeg`] adds them to an already-encoded JPEG instead;
//! [`webp_with_metadata`] wraps an encoded WebP in the extended format with ICC, EXIF
//! and XMP chunks; AVIF takes the EXIF block through its encoder and [`avif_with_xmp`]
//! adds the XMP packet as a metadata item;
//! [`xmp_sidecar`] renders the same XMP packet as a standalone `.xmp` file.
//!
//! Text is UTF-8 everywhere: EXIF ASCII tags carry UTF-8 bytes as the MWG guidelines
//! and exiftool do, IPTC declares UTF-8 with 1:90, and characters XML 1.0 cannot
//! carry (C0 controls other than tab, LF, CR) are dropped from every format alike so
//! the three blocks read back identically. No Windows XP* tags or EXIF UserComment
//! are written: Windows and the MWG reconciliation read XMP, ImageDescription and
//! the IPTC caption, and a fourth copy would only drift.

mod avif;
mod exif_write;
mod iptc;
mod jpeg;
mod webp;
mod xmp;

use std::borrow::Cow;

pub use jpeg::{icc_segments, insert_segments_into_jpeg};
pub use webp::webp_with_metadata;

/// APP marker numbers used by the segments [`jpeg_segments`] returns.
pub const APP1: u8 = 1;
/// APP13 carries the Photoshop image resources that hold IPTC-IIM.
pub const APP13: u8 = 13;

/// Identifier that starts an APP1 EXIF segment.
pub const EXIF_HEADER: &[u8] = b"Exif\0\0";
/// Identifier that starts an APP1 XMP segment.
pub const XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// Identifier that starts an APP13 Photoshop image-resource segment.
pub const PHOTOSHOP_HEADER: &[u8] = b"Photoshop 3.0\0";

/// Largest payload one JPEG marker segment can hold (65535 minus the 2-byte length).
pub const MAX_SEGMENT_PAYLOAD: usize = 65533;
/// Largest XMP packet that fits in one APP1 segment after [`XMP_HEADER`], with the
/// 2-byte margin other writers keep.
pub const MAX_EMBEDDED_XMP: usize = 65502;

/// What the source photo's metadata may contribute to a derivative, like Lightroom's
/// export "Include" choice. Whatever the policy, the fields of [`OutputMetadata`]
/// this run sets win over the source's, the source's XMP and IPTC are never carried
/// (so person and region data from the original never leak), and the EXIF written
/// always describes the derivative: Orientation 1, its own pixel size, no thumbnail,
/// no maker note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum MetadataPolicy {
    /// This run's fields plus, from the source EXIF, only capture time, camera
    /// make/model, lens make/model/specification and exposure settings. Drops GPS,
    /// body and lens serial numbers, owner name, image unique id, maker notes, user
    /// comments and everything else.
    #[default]
    Privacy,
    /// This run's fields plus the source's primary EXIF (IFD0, Exif, GPS, Interop),
    /// rewritten for the derivative: drops the thumbnail IFD, the maker note, tags
    /// kamadak-exif does not know (their layout cannot be checked, for instance
    /// PrintIM or Microsoft padding), Windows XP* text tags (they would contradict
    /// the caption), tags a JPEG's IFD0 must not hold, subject area/location and
    /// focal-plane resolution (they are in the original's pixels) and colour
    /// encoding tags (the derivative's colour is stated by ColorSpace and its ICC).
    Keep,
    /// Only the descriptive fields this run authored (name, caption, keywords, people,
    /// credit, rights, event, face regions) plus the structural EXIF a JPEG needs.
    /// Capture time, camera, lens and exposure are dropped even when set in
    /// [`OutputMetadata`].
    Strip,
}

/// A positive rational as EXIF stores it, for example 1/250 s or f/2.8 as 28/10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Ratio {
    pub numerator: u32,
    pub denominator: u32,
}

impl Ratio {
    pub fn new(numerator: u32, denominator: u32) -> Self {
        Self {
            numerator,
            denominator,
        }
    }
}

impl From<exif::Rational> for Ratio {
    fn from(value: exif::Rational) -> Self {
        Self::new(value.num, value.denom)
    }
}

/// When the photo was taken, as the camera recorded it (EXIF DateTimeOriginal,
/// SubSecTimeOriginal, OffsetTimeOriginal): the one typed capture time read in `exif_info`.
pub use crate::exif_info::CaptureTime;

/// A derivative's size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PixelSize {
    pub width: u32,
    pub height: u32,
}

/// A face region in the derivative's own frame, normalized to 0..1 as MWG wants:
/// `center_x`/`center_y` are the CENTRE of the box (not its corner).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FaceRegion {
    /// The person's name, when known.
    pub name: Option<String>,
    pub center_x: f64,
    pub center_y: f64,
    pub width: f64,
    pub height: f64,
}

impl FaceRegion {
    /// Region from a box given in the derivative's pixels (`left`, `top` = top-left
    /// corner), clipped to the frame. Returns `None` when the box lies wholly outside
    /// the frame or the frame is empty.
    pub fn from_pixel_box(
        name: Option<String>,
        [left, top, width, height]: [f64; 4],
        frame: PixelSize,
    ) -> Option<Self> {
        if frame.width == 0 || frame.height == 0 {
            return None;
        }
        let (frame_width, frame_height) = (f64::from(frame.width), f64::from(frame.height));
        let x0 = left.clamp(0.0, frame_width);
        let y0 = top.clamp(0.0, frame_height);
        let x1 = (left + width).clamp(0.0, frame_width);
        let y1 = (top + height).clamp(0.0, frame_height);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        Some(Self {
            name,
            center_x: (x0 + x1) / 2.0 / frame_width,
            center_y: (y0 + y1) / 2.0 / frame_height,
            width: (x1 - x0) / frame_width,
            height: (y1 - y0) / frame_height,
        })
    }
}

/// The window a derivative was cut from, as the crop stage plans it: `[x, y, width, height]`
/// in upright source pixels of a frame turned `rotation_degrees` (clockwise) about the centre
/// of the `upright_size` photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropWindow {
    pub rect: [f64; 4],
    pub rotation_degrees: f64,
    pub upright_size: (u32, u32),
}

impl CropWindow {
    /// The whole photo, unturned (for a sidecar beside the original).
    pub fn whole(upright_size: (u32, u32)) -> Self {
        Self {
            rect: [
                0.0,
                0.0,
                f64::from(upright_size.0),
                f64::from(upright_size.1),
            ],
            rotation_degrees: 0.0,
            upright_size,
        }
    }
}

impl FaceRegion {
    /// Region of a face found at `face_box` (`[left, top, width, height]` in upright source
    /// pixels) in a derivative cut from `window` and scaled to `output`. The box's centre
    /// follows the crop's turn; its size is kept (the turns are a few degrees). `None` when
    /// the face is not in the derivative.
    pub fn from_source_box(
        name: Option<String>,
        face_box: [f64; 4],
        window: &CropWindow,
        output: PixelSize,
    ) -> Option<Self> {
        let [left, top, width, height] = face_box;
        let [window_x, window_y, window_width, window_height] = window.rect;
        if window_width <= 0.0 || window_height <= 0.0 {
            return None;
        }
        let (centre_x, centre_y) = (
            f64::from(window.upright_size.0) / 2.0,
            f64::from(window.upright_size.1) / 2.0,
        );
        let (sin, cos) = window.rotation_degrees.to_radians().sin_cos();
        let (dx, dy) = (left + width / 2.0 - centre_x, top + height / 2.0 - centre_y);
        let turned = (
            centre_x + dx * cos - dy * sin,
            centre_y + dx * sin + dy * cos,
        );
        let scale_x = f64::from(output.width) / window_width;
        let scale_y = f64::from(output.height) / window_height;
        let (output_width, output_height) = (width * scale_x, height * scale_y);
        let output_box = [
            (turned.0 - window_x) * scale_x - output_width / 2.0,
            (turned.1 - window_y) * scale_y - output_height / 2.0,
            output_width,
            output_height,
        ];
        Self::from_pixel_box(name, output_box, output)
    }
}

/// What this run sets for one derivative. Text is plain UTF-8; escaping and
/// per-format limits are handled here.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutputMetadata {
    /// The person's name: XMP dc:title, IPTC 2:05 Object Name.
    pub title: Option<String>,
    /// The expanded caption: XMP dc:description, IPTC 2:120, EXIF ImageDescription.
    pub caption: Option<String>,
    /// XMP dc:subject, IPTC 2:25 (one dataset each).
    pub keywords: Vec<String>,
    /// XMP Iptc4xmpExt:PersonInImage.
    pub persons_in_image: Vec<String>,
    /// The credit: XMP dc:creator, IPTC 2:80 By-line, EXIF Artist.
    pub creator: Option<String>,
    /// Copyright notice: XMP dc:rights, IPTC 2:116, EXIF Copyright.
    pub rights: Option<String>,
    /// Event name: XMP Iptc4xmpExt:Event.
    pub event: Option<String>,
    /// EXIF DateTimeOriginal/SubSecTimeOriginal/OffsetTimeOriginal, XMP
    /// photoshop:DateCreated, IPTC 2:55/2:60.
    pub capture_time: Option<CaptureTime>,
    /// EXIF Make.
    pub camera_make: Option<String>,
    /// EXIF Model.
    pub camera_model: Option<String>,
    /// EXIF LensModel.
    pub lens_model: Option<String>,
    /// EXIF ExposureTime in seconds.
    pub exposure_time: Option<Ratio>,
    /// EXIF FNumber.
    pub f_number: Option<Ratio>,
    /// EXIF PhotographicSensitivity (values above 65535 also go to ISOSpeed).
    pub iso: Option<u32>,
    /// EXIF FocalLength in mm.
    pub focal_length: Option<Ratio>,
    /// The derivative's pixel size: EXIF PixelX/YDimension and the regions'
    /// mwg-rs:AppliedToDimensions.
    pub pixel_size: PixelSize,
    /// True when the derivative's pixels are sRGB (EXIF ColorSpace 1); false writes
    /// Uncalibrated (0xFFFF), for a derivative that embeds another ICC profile.
    pub srgb: bool,
    /// Face regions in the derivative's frame (XMP mwg-rs:Regions).
    pub face_regions: Vec<FaceRegion>,
}

impl OutputMetadata {
    /// Metadata for a derivative of `width` x `height` pixels with nothing else set.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            title: None,
            caption: None,
            keywords: Vec::new(),
            persons_in_image: Vec::new(),
            creator: None,
            rights: None,
            event: None,
            capture_time: None,
            camera_make: None,
            camera_model: None,
            lens_model: None,
            exposure_time: None,
            f_number: None,
            iso: None,
            focal_length: None,
            pixel_size: PixelSize { width, height },
            srgb: true,
            face_regions: Vec::new(),
        }
    }

    /// A copy without the fields copied from the camera (capture time, camera,
    /// lens, exposure), as [`MetadataPolicy::Strip`] writes.
    fn without_camera_data(&self) -> Self {
        Self {
            capture_time: None,
            camera_make: None,
            camera_model: None,
            lens_model: None,
            exposure_time: None,
            f_number: None,
            iso: None,
            focal_length: None,
            ..self.clone()
        }
    }
}

/// Why metadata could not be produced or inserted.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("the {segment} block would be {bytes} bytes, over its {limit}-byte limit in one JPEG segment (too many or too long keywords/captions?)")]
    TooLarge {
        segment: &'static str,
        bytes: usize,
        limit: usize,
    },
    #[error("could not encode the EXIF block")]
    ExifEncode(#[source] exif::Error),
    #[error("APP marker number {0} is not in 0..=15")]
    InvalidAppMarker(u8),
    #[error("not a well-formed JPEG at byte {offset}: {reason}")]
    MalformedJpeg { offset: usize, reason: &'static str },
    #[error("not a still WebP the metadata can be added to: {0}")]
    MalformedWebp(&'static str),
    #[error("not a still AVIF the XMP can be added to: {0}")]
    MalformedAvif(&'static str),
}

/// `avif_file` with `xmp_packet` added as an XMP item describing the primary image, the way
/// libavif stores it (ravif, through avif-serialize, writes only EXIF). See `avif.rs`.
pub fn avif_with_xmp(avif_file: &[u8], xmp_packet: &[u8]) -> Result<Vec<u8>, MetadataError> {
    avif::avif_with_xmp(avif_file, xmp_packet).map_err(MetadataError::MalformedAvif)
}

/// `avif_file` with `exif_tiff` added as an `Exif` item (ravif writes one only at encode time;
/// headshot's staged files have none, so the finish pass adds it here).
pub fn avif_with_exif(avif_file: &[u8], exif_tiff: &[u8]) -> Result<Vec<u8>, MetadataError> {
    avif::avif_with_exif(avif_file, exif_tiff).map_err(MetadataError::MalformedAvif)
}

/// The metadata of one derivative, before any container frames it: a TIFF-structured
/// EXIF block (no `Exif\0\0` prefix), an XMP packet (with its `<?xpacket?>` wrapper,
/// unpadded) and Photoshop image resources holding the IPTC-IIM record.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataBlocks {
    pub exif_tiff: Vec<u8>,
    pub xmp_packet: String,
    pub iptc_resources: Vec<u8>,
}

/// Builds the three blocks for one derivative. `source_exif` is the source photo's
/// EXIF as kamadak-exif parsed it, for example `exif.fields().cloned().collect::<Vec<_>>()`;
/// only primary-image fields (`In::PRIMARY`) are considered, and `policy` decides which
/// of them survive.
pub fn metadata_blocks(
    meta: &OutputMetadata,
    source_exif: Option<&[exif::Field]>,
    policy: MetadataPolicy,
) -> Result<MetadataBlocks, MetadataError> {
    let meta: Cow<'_, OutputMetadata> = match policy {
        MetadataPolicy::Strip => Cow::Owned(meta.without_camera_data()),
        MetadataPolicy::Privacy | MetadataPolicy::Keep => Cow::Borrowed(meta),
    };
    let source_exif = match policy {
        MetadataPolicy::Strip => &[][..],
        MetadataPolicy::Privacy | MetadataPolicy::Keep => source_exif.unwrap_or(&[]),
    };
    Ok(MetadataBlocks {
        exif_tiff: exif_write::tiff_block(&meta, source_exif, policy)?,
        xmp_packet: xmp::packet(&meta),
        iptc_resources: iptc::photoshop_resources(&meta),
    })
}

/// The APPn segments for one derivative, in the order they belong after SOI (and
/// after a JFIF APP0): APP1 EXIF, APP1 XMP, APP13 IPTC-IIM. Each is `(n, payload)`
/// with the payload starting with its identifier ([`EXIF_HEADER`], [`XMP_HEADER`],
/// [`PHOTOSHOP_HEADER`]) and without the marker and length bytes, ready for
/// `write_marker(Marker::APP(n), &payload)`. See [`metadata_blocks`] for the arguments.
pub fn jpeg_segments(
    meta: &OutputMetadata,
    source_exif: Option<&[exif::Field]>,
    policy: MetadataPolicy,
) -> Result<Vec<(u8, Vec<u8>)>, MetadataError> {
    jpeg_segments_from_blocks(&metadata_blocks(meta, source_exif, policy)?)
}

/// [`jpeg_segments`] for blocks already built; fails when a block is over its one-segment limit.
pub fn jpeg_segments_from_blocks(
    blocks: &MetadataBlocks,
) -> Result<Vec<(u8, Vec<u8>)>, MetadataError> {
    let exif_segment = with_header(EXIF_HEADER, &blocks.exif_tiff);
    check_size("EXIF", exif_segment.len(), MAX_SEGMENT_PAYLOAD)?;

    check_size("XMP", blocks.xmp_packet.len(), MAX_EMBEDDED_XMP)?;
    // Padding lets a later editor grow the packet in place.
    let padded = xmp::pad_packet(blocks.xmp_packet.clone(), MAX_EMBEDDED_XMP);
    let xmp_segment = with_header(XMP_HEADER, padded.as_bytes());

    let photoshop_segment = with_header(PHOTOSHOP_HEADER, &blocks.iptc_resources);
    check_size("IPTC", photoshop_segment.len(), MAX_SEGMENT_PAYLOAD)?;

    Ok(vec![
        (APP1, exif_segment),
        (APP1, xmp_segment),
        (APP13, photoshop_segment),
    ])
}

/// The same XMP packet as embedded by [`jpeg_segments`], with its `<?xpacket?>`
/// wrapper, for a standalone `.xmp` sidecar. Everything in `meta` is written; for a
/// sidecar beside an original, pass the original's pixel size and regions in the
/// original's frame. Sidecars have no size limit.
pub fn xmp_sidecar(meta: &OutputMetadata) -> String {
    xmp::packet(meta)
}

fn with_header(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut segment = Vec::with_capacity(header.len() + body.len());
    segment.extend_from_slice(header);
    segment.extend_from_slice(body);
    segment
}

fn check_size(segment: &'static str, bytes: usize, limit: usize) -> Result<(), MetadataError> {
    if bytes > limit {
        return Err(MetadataError::TooLarge {
            segment,
            bytes,
            limit,
        });
    }
    Ok(())
}

/// `text` without the characters XML 1.0 cannot carry (C0 controls other than
/// tab, LF and CR, and U+FFFE/U+FFFF). Applied to every format so EXIF, IPTC and XMP
/// agree.
fn clean_text(text: &str) -> Cow<'_, str> {
    let allowed = |character: char| !matches!(character, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(
            text.chars()
                .filter(|&character| allowed(character))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_centre_is_box_centre_normalized() {
        let frame = PixelSize {
            width: 800,
            height: 1000,
        };
        let region =
            FaceRegion::from_pixel_box(Some("A".into()), [200.0, 100.0, 400.0, 500.0], frame)
                .expect("inside the frame");
        assert_eq!(region.center_x, 0.5);
        assert_eq!(region.center_y, 0.35);
        assert_eq!(region.width, 0.5);
        assert_eq!(region.height, 0.5);
    }

    #[test]
    fn source_face_maps_through_crop_and_scale() {
        // A 4000x3000 photo cut to the window (1000, 500, 2000x2500) and scaled to 800x1000.
        let window = CropWindow {
            rect: [1000.0, 500.0, 2000.0, 2500.0],
            rotation_degrees: 0.0,
            upright_size: (4000, 3000),
        };
        let output = PixelSize {
            width: 800,
            height: 1000,
        };
        // Face at (1500, 1000), 1000x500 source px: in the derivative (200, 200), 400x200.
        let region = FaceRegion::from_source_box(
            Some("Seán O'Brien".into()),
            [1500.0, 1000.0, 1000.0, 500.0],
            &window,
            output,
        )
        .expect("inside");
        assert_eq!(region.name.as_deref(), Some("Seán O'Brien"));
        assert!((region.center_x - 0.5).abs() < 1e-12, "{region:?}");
        assert!((region.center_y - 0.3).abs() < 1e-12, "{region:?}");
        assert!((region.width - 0.5).abs() < 1e-12);
        assert!((region.height - 0.2).abs() < 1e-12);
        // A face left of the window is not in the derivative.
        assert!(
            FaceRegion::from_source_box(None, [100.0, 1000.0, 500.0, 500.0], &window, output)
                .is_none()
        );
        // The whole photo, unscaled: the box is just normalised.
        let whole = FaceRegion::from_source_box(
            None,
            [1000.0, 750.0, 2000.0, 1500.0],
            &CropWindow::whole((4000, 3000)),
            PixelSize {
                width: 4000,
                height: 3000,
            },
        )
        .expect("inside");
        assert_eq!((whole.center_x, whole.center_y), (0.5, 0.5));
        // A 90° turn about the photo's centre moves a face right of centre to below it.
        let turned = CropWindow {
            rect: [0.0, 0.0, 4000.0, 3000.0],
            rotation_degrees: 90.0,
            upright_size: (4000, 3000),
        };
        let moved = FaceRegion::from_source_box(
            None,
            [2900.0, 1400.0, 200.0, 200.0],
            &turned,
            PixelSize {
                width: 4000,
                height: 3000,
            },
        )
        .expect("inside");
        assert!((moved.center_x - 0.5).abs() < 1e-9, "{moved:?}");
        assert!(
            (moved.center_y - (2500.0 / 3000.0)).abs() < 1e-9,
            "{moved:?}"
        );
    }

    #[test]
    fn region_is_clipped_to_the_frame() {
        let frame = PixelSize {
            width: 100,
            height: 100,
        };
        // Box hangs 20 px off the left and 10 px off the bottom.
        let region = FaceRegion::from_pixel_box(None, [-20.0, 60.0, 60.0, 50.0], frame)
            .expect("partly inside");
        assert!((region.center_x - 0.2).abs() < 1e-12);
        assert!((region.center_y - 0.8).abs() < 1e-12);
        assert!((region.width - 0.4).abs() < 1e-12);
        assert!((region.height - 0.4).abs() < 1e-12);
        assert!(FaceRegion::from_pixel_box(None, [150.0, 0.0, 10.0, 10.0], frame).is_none());
        let empty = PixelSize {
            width: 0,
            height: 10,
        };
        assert!(FaceRegion::from_pixel_box(None, [0.0, 0.0, 1.0, 1.0], empty).is_none());
    }

    #[test]
    fn clean_text_drops_xml_invalid_controls_only() {
        assert_eq!(clean_text("a\u{0}b\u{1b}c\td\ne\rf"), "abc\td\ne\rf");
        assert!(matches!(clean_text("李小龍"), Cow::Borrowed(_)));
    }

    #[test]
    fn strip_policy_drops_camera_fields() {
        let mut meta = OutputMetadata::new(10, 10);
        meta.title = Some("Seán O'Brien".into());
        meta.camera_make = Some("Canon".into());
        meta.capture_time =
            Some(CaptureTime::from_exif("2024:05:17 14:03:22", None, None).expect("valid"));
        let stripped = meta.without_camera_data();
        assert_eq!(stripped.title, meta.title);
        assert_eq!(stripped.camera_make, None);
        assert_eq!(stripped.capture_time, None);
    }

    #[test]
    fn segments_come_in_order_with_identifiers() {
        let meta = OutputMetadata::new(10, 10);
        let segments = jpeg_segments(&meta, None, MetadataPolicy::default()).expect("segments");
        let markers: Vec<u8> = segments.iter().map(|(marker, _)| *marker).collect();
        assert_eq!(markers, [APP1, APP1, APP13]);
        assert!(segments[0].1.starts_with(EXIF_HEADER));
        assert!(segments[1].1.starts_with(XMP_HEADER));
        assert!(segments[2].1.starts_with(PHOTOSHOP_HEADER));
    }

    #[test]
    fn oversized_xmp_is_an_error_not_a_silent_cut() {
        let mut meta = OutputMetadata::new(10, 10);
        meta.keywords = (0..3000)
            .map(|index| format!("keyword number {index}"))
            .collect();
        match jpeg_segments(&meta, None, MetadataPolicy::Strip) {
            Err(MetadataError::TooLarge { segment, .. }) => assert_eq!(segment, "XMP"),
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // The sidecar has no such limit.
        assert!(xmp_sidecar(&meta).len() > MAX_EMBEDDED_XMP);
    }
}
