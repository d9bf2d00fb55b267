//! Decodes a photo once, at the smallest scale its largest derivative needs, to 8-bit RGB.
//!
//! JPEG goes through libjpeg (mozjpeg) with DCT-domain scaling (shrink-on-load); PNG and TIFF
//! through the `image` crate. Grey, CMYK, alpha and 16-bit inputs all come out as 8-bit RGB.
//! Orientation is applied later (see `orient`): the image here is as stored, and so is its colour:
//! the embedded ICC profile (and, for CMYK, the ink values) travel along for `colour` to convert.

use std::cell::RefCell;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::RgbImage;

use crate::discover::ImageFormat;
use crate::error::PhotoError;

/// Default ceiling on decoded pixels: far above any camera, far below what would exhaust memory.
pub const DEFAULT_MAX_MEGAPIXELS: u64 = 250;

/// What a build without libjpeg's SIMD costs, said once in the run summary. Measured with
/// `bench/run.sh` on the 2-core development machine: 10.7 photos/s with SIMD, 7.8 without.
pub const JPEG_SIMD_HINT: &str = "libjpeg was built without SIMD: install nasm and rebuild \
     (cargo clean -p mozjpeg-sys, then cargo build --release) for runs about 35% faster \
     (10.7 against 7.8 photos/s on a 2-core machine)";

extern "C" {
    // libjpeg-turbo's SIMD dispatch, linked from mozjpeg-sys's static libjpeg. mozjpeg-sys
    // compiles `simd/<arch>/jsimd.c` and the nasm kernels when it finds nasm at build time, and
    // `jsimd_none.c` (every `jsimd_can_*` answers 0) when it does not; it emits no build flag
    // saying which, so asking the linked library is the only answer that cannot disagree.
    fn jsimd_can_idct_islow() -> std::os::raw::c_int;
}

/// Whether the linked libjpeg decodes with SIMD kernels (SSE2/AVX2 on x86, NEON on ARM).
///
/// False when mozjpeg-sys was built without nasm (or on a CPU without the kernels' minimum,
/// e.g. SSE2). mozjpeg-sys builds with `NO_GETENV`, so libjpeg's `JSIMD_*` environment
/// switches do not change the answer.
pub fn jpeg_simd_built_in() -> bool {
    // SAFETY: takes no arguments; it reads the CPU's features once per thread and answers
    // whether a SIMD inverse DCT can run.
    unsafe { jsimd_can_idct_islow() != 0 }
}

/// The `--version` note on libjpeg's SIMD, for a bug report or a speed question.
pub fn jpeg_simd_summary() -> &'static str {
    if jpeg_simd_built_in() {
        "libjpeg SIMD: yes"
    } else {
        "libjpeg SIMD: no (install nasm and rebuild for about 35% faster runs)"
    }
}

/// [`JPEG_SIMD_HINT`] when this build lacks libjpeg's SIMD, else `None`.
pub fn jpeg_simd_hint() -> Option<&'static str> {
    (!jpeg_simd_built_in()).then_some(JPEG_SIMD_HINT)
}

/// A decoded photo, still in stored (not upright) orientation.
#[derive(Debug)]
pub struct Decoded {
    pub image: RgbImage,
    /// Stored pixel size of the file, before any shrink-on-load.
    pub source_width: u32,
    pub source_height: u32,
    /// Warnings from the decoder (e.g. corrupt but recoverable data).
    pub warnings: Vec<String>,
    /// How the file stores colour, so `colour` can match it against the ICC profile.
    pub channels: SourceChannels,
    /// The embedded ICC profile, reassembled (JPEG APP2 chunks, PNG iCCP, TIFF tag 34675).
    pub icc_profile: Option<Vec<u8>>,
    /// For CMYK JPEGs: the ink values as stored (Adobe-inverted, 255 = no ink), 4 bytes a pixel,
    /// same size as `image`, which holds a naive conversion until `colour` applies the profile.
    pub cmyk: Option<Vec<u8>>,
}

/// The colour model a source file stores its pixels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChannels {
    Grey,
    Rgb,
    Cmyk,
}

impl Decoded {
    /// Decoded pixels per source pixel (1.0 when decoded at full size).
    pub fn scale(&self) -> f64 {
        self.image.width() as f64 / self.source_width as f64
    }
}

/// Reads the stored pixel size from the header without decoding pixels.
pub fn probe_size(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), PhotoError> {
    match format {
        ImageFormat::Jpeg => guarded(|| {
            let decompress = mozjpeg::Decompress::with_err(recording_error_manager())
                .from_mem(bytes)
                .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
            Ok((decompress.width() as u32, decompress.height() as u32))
        }),
        ImageFormat::Png | ImageFormat::Tiff => guarded(|| {
            let reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(format));
            reader.into_dimensions().map_err(image_error)
        }),
    }
}

/// Decodes `bytes`, shrinking on load so that the result is at least `min_scale` of the stored size.
///
/// `min_scale` in (0, 1]; JPEG picks the smallest libjpeg scale `n/8` that is at least that.
/// Other formats decode at full size. Sizes above `max_megapixels` fail before any allocation.
pub fn decode(
    bytes: &[u8],
    format: ImageFormat,
    min_scale: f64,
    max_megapixels: u64,
) -> Result<Decoded, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    let (width, height) = probe_size(bytes, format)?;
    check_size(width, height, max_megapixels)?;
    match format {
        ImageFormat::Jpeg => guarded(|| decode_jpeg(bytes, min_scale)),
        ImageFormat::Png | ImageFormat::Tiff => {
            guarded(|| decode_with_image(bytes, format, max_megapixels))
        }
    }
}

fn check_size(width: u32, height: u32, max_megapixels: u64) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::ZeroSize);
    }
    let pixels = width as u64 * height as u64;
    if pixels > max_megapixels * 1_000_000 {
        return Err(PhotoError::TooLarge {
            width: width as u64,
            height: height as u64,
            megapixels: pixels as f64 / 1e6,
            limit_megapixels: max_megapixels,
        });
    }
    Ok(())
}

/// The smallest libjpeg scale numerator (of 8) whose scale is at least `min_scale`.
///
/// Only 1, 2, 4 and 8 are used: libjpeg-turbo has SIMD kernels for those; the odd sizes
/// (3/8, 5/8, ...) run in plain C and cost more than they save.
pub fn jpeg_scale_numerator(min_scale: f64) -> u8 {
    [1u8, 2, 4, 8]
        .into_iter()
        .find(|&numerator| numerator as f64 / 8.0 >= min_scale - 1e-9)
        .unwrap_or(8)
}

/// Runs a decoder, turning a panic (ours, the `image` crate's, or libjpeg's unwinding error exit) into an error.
fn guarded<T>(decode: impl FnOnce() -> Result<T, PhotoError>) -> Result<T, PhotoError> {
    match catch_unwind(AssertUnwindSafe(decode)) {
        Ok(result) => result,
        Err(payload) => {
            if payload.is::<JpegDataEnded>() {
                return Err(PhotoError::Truncated);
            }
            let message = panic_message(payload.as_ref());
            if let Some(libjpeg_message) = message.strip_prefix("libjpeg fatal error: ") {
                Err(PhotoError::Corrupt(libjpeg_message.to_string()))
            } else {
                Err(PhotoError::DecoderPanic(message))
            }
        }
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

thread_local! {
    /// libjpeg warnings of the decode running on this thread: (message code, text).
    static JPEG_WARNINGS: RefCell<Vec<(i32, String)>> = const { RefCell::new(Vec::new()) };
}

/// libjpeg's error manager, except warnings are recorded instead of printed to stderr.
fn recording_error_manager() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of a zeroed struct; we then replace two callbacks.
    unsafe {
        let mut manager: mozjpeg_sys::jpeg_error_mgr = std::mem::zeroed();
        mozjpeg_sys::jpeg_std_error(&mut manager);
        manager.error_exit = Some(unwind_on_error);
        manager.emit_message = Some(record_warning);
        manager
    }
}

fn format_libjpeg_message(cinfo: &mut mozjpeg_sys::jpeg_common_struct) -> String {
    let mut buffer = [0u8; 200];
    // SAFETY: `err` is set for any live cinfo; format_message writes at most JMSG_LENGTH_MAX (200) bytes.
    unsafe {
        if let Some(format) = cinfo.err.as_ref().and_then(|err| err.format_message) {
            let format: unsafe extern "C-unwind" fn(&mut mozjpeg_sys::jpeg_common_struct, *mut u8) =
                std::mem::transmute(format);
            format(cinfo, buffer.as_mut_ptr());
        }
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// libjpeg's fatal "Input file read error": the data ended inside a segment it skips (EXIF, ICC).
/// We decode from memory, so no other read error can happen: the file is truncated.
struct JpegDataEnded;

extern "C-unwind" fn unwind_on_error(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    // SAFETY: `err` is set for any live cinfo.
    let code = unsafe { cinfo.err.as_ref().map(|err| err.msg_code).unwrap_or(0) };
    if code == mozjpeg_sys::JERR_FILE_READ {
        std::panic::resume_unwind(Box::new(JpegDataEnded));
    }
    let message = format_libjpeg_message(cinfo);
    std::panic::resume_unwind(Box::new(format!("libjpeg fatal error: {message}")));
}

extern "C-unwind" fn record_warning(
    cinfo: &mut mozjpeg_sys::jpeg_common_struct,
    level: std::os::raw::c_int,
) {
    // Level -1 is a warning; higher levels are trace messages.
    if level != -1 {
        return;
    }
    // SAFETY: `err` is set for any live cinfo.
    let code = unsafe { cinfo.err.as_ref().map(|err| err.msg_code).unwrap_or(0) };
    let message = format_libjpeg_message(cinfo);
    JPEG_WARNINGS.with(|warnings| warnings.borrow_mut().push((code, message)));
}

fn decode_jpeg(bytes: &[u8], min_scale: f64) -> Result<Decoded, PhotoError> {
    JPEG_WARNINGS.with(|warnings| warnings.borrow_mut().clear());
    let mut decompress = mozjpeg::Decompress::with_err(recording_error_manager())
        .from_mem(bytes)
        .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
    let (source_width, source_height) = (decompress.width() as u32, decompress.height() as u32);
    decompress.scale(jpeg_scale_numerator(min_scale));
    let is_cmyk = matches!(
        decompress.color_space(),
        mozjpeg_sys::J_COLOR_SPACE::JCS_CMYK | mozjpeg_sys::J_COLOR_SPACE::JCS_YCCK
    );
    let channels = match decompress.color_space() {
        _ if is_cmyk => SourceChannels::Cmyk,
        mozjpeg_sys::J_COLOR_SPACE::JCS_GRAYSCALE => SourceChannels::Grey,
        _ => SourceChannels::Rgb,
    };
    let mut cmyk_inks = None;
    let image = if is_cmyk {
        let mut started = decompress
            .to_colorspace(mozjpeg_sys::J_COLOR_SPACE::JCS_CMYK)
            .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
        let (width, height) = (started.width() as u32, started.height() as u32);
        let cmyk: Vec<[u8; 4]> = started
            .read_scanlines()
            .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
        started
            .finish()
            .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
        let rgb = cmyk.iter().flat_map(|&pixel| cmyk_to_rgb(pixel)).collect();
        cmyk_inks = Some(cmyk.into_iter().flatten().collect());
        RgbImage::from_raw(width, height, rgb)
    } else {
        let mut started = decompress
            .rgb()
            .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
        let (width, height) = (started.width() as u32, started.height() as u32);
        let mut rgb = crate::pixel_pool::take(width as usize * height as usize * 3);
        let read = started
            .read_scanlines_into(&mut rgb)
            .map_err(|error| PhotoError::Corrupt(error.to_string()))?
            .len();
        rgb.truncate(read);
        started
            .finish()
            .map_err(|error| PhotoError::Corrupt(error.to_string()))?;
        RgbImage::from_raw(width, height, rgb)
    };
    let image =
        image.ok_or_else(|| PhotoError::Corrupt("decoder returned too few pixels".to_string()))?;
    let recorded = JPEG_WARNINGS.with(|warnings| std::mem::take(&mut *warnings.borrow_mut()));
    let mut warnings = Vec::new();
    let icc_profile = jpeg_icc_profile(bytes).unwrap_or_else(|warning| {
        warnings.push(warning);
        None
    });
    for (code, message) in recorded {
        if code == mozjpeg_sys::JWRN_JPEG_EOF {
            // libjpeg pads a truncated file with grey; a half-grey headshot is not a result.
            return Err(PhotoError::Truncated);
        }
        let message = format!("JPEG data: {message}");
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }
    Ok(Decoded {
        image,
        source_width,
        source_height,
        warnings,
        channels,
        icc_profile,
        cmyk: cmyk_inks,
    })
}

/// Identifier that starts each APP2 chunk of an embedded ICC profile.
const ICC_CHUNK_HEADER: &[u8] = b"ICC_PROFILE\0";

/// The ICC profile of a JPEG, reassembled from its APP2 `ICC_PROFILE` chunks in sequence order.
///
/// Reads the marker segments before the first scan; `Ok(None)` when there are none, `Err` when the
/// chunks do not add up (missing or repeated sequence numbers): a partial profile is no profile.
pub fn jpeg_icc_profile(jpeg: &[u8]) -> Result<Option<Vec<u8>>, String> {
    const APP2: u8 = 0xe2;
    const SOS: u8 = 0xda;
    const EOI: u8 = 0xd9;
    let mut chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    let mut position = 2;
    while position + 4 <= jpeg.len() {
        if jpeg[position] != 0xff {
            // Junk between segments: step over it, as libjpeg does (with a warning we already record).
            position += 1;
            continue;
        }
        let marker = jpeg[position + 1];
        if marker == 0xff {
            position += 1;
            continue;
        }
        if marker == SOS || marker == EOI {
            break;
        }
        if marker == 0x01 || (0xd0..=0xd7).contains(&marker) {
            position += 2;
            continue;
        }
        let length = u16::from_be_bytes([jpeg[position + 2], jpeg[position + 3]]) as usize;
        let end = position + 2 + length;
        if length < 2 || end > jpeg.len() {
            break;
        }
        let payload = &jpeg[position + 4..end];
        if marker == APP2 && payload.len() > ICC_CHUNK_HEADER.len() + 2 {
            if let Some(rest) = payload.strip_prefix(ICC_CHUNK_HEADER) {
                chunks.push((rest[0], rest[1], &rest[2..]));
            }
        }
        position = end;
    }
    if chunks.is_empty() {
        return Ok(None);
    }
    let count = chunks[0].1;
    chunks.sort_by_key(|&(sequence, _, _)| sequence);
    let complete = chunks.len() == count as usize
        && chunks
            .iter()
            .enumerate()
            .all(|(index, &(sequence, total, _))| sequence as usize == index + 1 && total == count);
    if !complete {
        let sequence: Vec<String> = chunks
            .iter()
            .map(|&(sequence, total, _)| format!("{sequence}/{total}"))
            .collect();
        return Err(format!(
            "ICC profile chunks do not add up ({}); treated as sRGB",
            sequence.join(", ")
        ));
    }
    Ok(Some(
        chunks
            .iter()
            .flat_map(|&(_, _, data)| data)
            .copied()
            .collect(),
    ))
}

/// Naive CMYK -> RGB for Adobe-style (inverted) CMYK JPEGs, used when no ICC profile converts it.
fn cmyk_to_rgb([c, m, y, k]: [u8; 4]) -> [u8; 3] {
    // Adobe writes CMYK JPEGs inverted: 255 means no ink.
    let channel = |ink: u8| ((ink as u16 * k as u16 + 127) / 255) as u8;
    [channel(c), channel(m), channel(y)]
}

fn image_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
    }
}

fn image_error(error: image::ImageError) -> PhotoError {
    match error {
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated
        }
        image::ImageError::Limits(limit) => {
            PhotoError::Corrupt(format!("over memory limit: {limit}"))
        }
        other => PhotoError::Corrupt(other.to_string()),
    }
}

fn decode_with_image(
    bytes: &[u8],
    format: ImageFormat,
    max_megapixels: u64,
) -> Result<Decoded, PhotoError> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(format));
    let mut limits = image::Limits::default();
    // 16-bit RGBA at the pixel limit, plus decoder working space.
    limits.max_alloc = Some(max_megapixels * 1_000_000 * 8 + (64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let mut warnings = Vec::new();
    let icc_profile = decoder.icc_profile().unwrap_or_else(|error| {
        warnings.push(format!("ICC profile unreadable ({error}); treated as sRGB"));
        None
    });
    let dynamic = image::DynamicImage::from_decoder(decoder).map_err(image_error)?;
    let (source_width, source_height) = (dynamic.width(), dynamic.height());
    let channels = if dynamic.color().has_color() {
        SourceChannels::Rgb
    } else {
        SourceChannels::Grey
    };
    let image = flatten_to_rgb(dynamic);
    Ok(Decoded {
        image,
        source_width,
        source_height,
        warnings,
        channels,
        icc_profile,
        cmyk: None,
    })
}

/// Converts any decoded layout to 8-bit RGB; transparent areas are composited over white.
fn flatten_to_rgb(dynamic: image::DynamicImage) -> RgbImage {
    if !dynamic.color().has_alpha() {
        return dynamic.into_rgb8();
    }
    let rgba = dynamic.into_rgba8();
    let (width, height) = rgba.dimensions();
    let rgb = rgba
        .pixels()
        .flat_map(|pixel| {
            let [r, g, b, a] = pixel.0;
            let over_white =
                |c: u8| ((c as u16 * a as u16 + 255 * (255 - a as u16) + 127) / 255) as u8;
            [over_white(r), over_white(g), over_white(b)]
        })
        .collect();
    RgbImage::from_raw(width, height, rgb).unwrap_or_else(|| RgbImage::new(width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_smallest_sufficient_jpeg_scale() {
        assert_eq!(jpeg_scale_numerator(1.0), 8);
        assert_eq!(jpeg_scale_numerator(0.6), 8);
        assert_eq!(jpeg_scale_numerator(0.5), 4);
        assert_eq!(jpeg_scale_numerator(0.34), 4);
        assert_eq!(jpeg_scale_numerator(0.25), 2);
        assert_eq!(jpeg_scale_numerator(0.1), 1);
        assert_eq!(jpeg_scale_numerator(0.01), 1);
    }

    #[test]
    fn cmyk_inverted_white_and_black() {
        assert_eq!(cmyk_to_rgb([255, 255, 255, 255]), [255, 255, 255]);
        assert_eq!(cmyk_to_rgb([0, 0, 0, 255]), [0, 0, 0]);
        assert_eq!(cmyk_to_rgb([255, 255, 255, 0]), [0, 0, 0]);
    }

    fn app2_icc_chunk(sequence: u8, count: u8, data: &[u8]) -> Vec<u8> {
        let mut payload = ICC_CHUNK_HEADER.to_vec();
        payload.extend_from_slice(&[sequence, count]);
        payload.extend_from_slice(data);
        let mut segment = vec![0xff, 0xe2];
        segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(&payload);
        segment
    }

    #[test]
    fn icc_chunks_are_reassembled_in_sequence_order() {
        let mut jpeg = vec![0xff, 0xd8];
        jpeg.extend_from_slice(&app2_icc_chunk(2, 2, b"second"));
        jpeg.extend_from_slice(&[0xff, 0xe1, 0x00, 0x04, 1, 2]);
        jpeg.extend_from_slice(&app2_icc_chunk(1, 2, b"first-"));
        jpeg.extend_from_slice(&[0xff, 0xda, 0x00, 0x02, 0xff, 0xe2]);
        assert_eq!(jpeg_icc_profile(&jpeg), Ok(Some(b"first-second".to_vec())));
        // A missing chunk means no profile, not half of one.
        let mut partial = vec![0xff, 0xd8];
        partial.extend_from_slice(&app2_icc_chunk(1, 2, b"first-"));
        partial.extend_from_slice(&[0xff, 0xda, 0x00, 0x02]);
        assert!(jpeg_icc_profile(&partial).unwrap_err().contains("1/2"));
        assert_eq!(jpeg_icc_profile(&[0xff, 0xd8, 0xff, 0xda, 0, 2]), Ok(None));
    }

    #[test]
    fn garbage_and_empty_fail_cleanly() {
        assert!(matches!(
            decode(b"", ImageFormat::Jpeg, 1.0, 100),
            Err(PhotoError::Empty)
        ));
        let garbage = b"\xff\xd8\xff\xe0 this is not really a jpeg at all";
        assert!(decode(garbage, ImageFormat::Jpeg, 1.0, 100).is_err());
        assert!(decode(b"\x89PNG\r\n\x1a\nnope", ImageFormat::Png, 1.0, 100).is_err());
    }
}
