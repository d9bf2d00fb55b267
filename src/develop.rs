//! One photo's single decode: read the bytes, decode at the scale its outputs need, convert to
//! sRGB and turn upright. Everything else a run does with the photo's pixels starts from here.

use std::fs;
use std::path::Path;

use image::RgbImage;

use crate::colour;
use crate::decode;
use crate::discover::ImageFormat;
use crate::error::{PhotoError, Stage};
use crate::exif_info;
use crate::orient;
use crate::resize;

/// Long edge of the small copy the analysers and the tone's measurements look at.
pub const PREVIEW_LONG_EDGE: u32 = 512;

/// A source file's bytes and what its header says, before any pixel is decoded.
pub struct SourceFile {
    pub bytes: Vec<u8>,
    /// XXH3-64 of the bytes: the photo's identity in caches.
    pub xxh3: u64,
    pub format: ImageFormat,
    /// Stored size turned by the EXIF orientation.
    pub upright_size: (u32, u32),
}

/// Reads `path` and its header; `known_format` is discovery's sniff, if it made one.
pub fn read_source(
    path: &Path,
    known_format: Option<ImageFormat>,
    orientation: u8,
) -> Result<SourceFile, (Stage, PhotoError)> {
    let bytes = fs::read(path).map_err(|error| (Stage::Read, PhotoError::Io(error)))?;
    if bytes.is_empty() {
        return Err((Stage::Read, PhotoError::Empty));
    }
    let xxh3 = xxhash_rust::xxh3::xxh3_64(&bytes);
    let format = known_format
        .or_else(|| ImageFormat::sniff(&bytes))
        .ok_or((Stage::Read, PhotoError::NotAnImage))?;
    let stored = decode::probe_size(&bytes, format).map_err(|error| (Stage::Decode, error))?;
    Ok(SourceFile {
        bytes,
        xxh3,
        format,
        upright_size: orient::upright_size(stored, orientation),
    })
}

/// The decoded photo: upright, sRGB, at `scale` of the source's pixels.
pub struct Developed {
    pub working: RgbImage,
    /// Working pixels per upright source pixel.
    pub scale: f64,
    pub upright_size: (u32, u32),
    /// Decoder and colour warnings.
    pub warnings: Vec<String>,
}

/// Decodes `source` once at `min_scale` (or the next scale libjpeg offers above it), converts
/// it to sRGB and turns it upright. The source bytes are released.
pub fn develop(
    source: SourceFile,
    orientation: u8,
    min_scale: f64,
    max_megapixels: u64,
) -> Result<Developed, (Stage, PhotoError)> {
    // The source's EXIF fields, for the colour conversion's Adobe RGB hint.
    let source_exif: Vec<exif::Field> = exif_info::read_exif(&source.bytes)
        .exif
        .map(|exif| exif.fields().cloned().collect())
        .unwrap_or_default();
    let mut decoded = decode::decode(&source.bytes, source.format, min_scale, max_megapixels)
        .map_err(|error| (Stage::Decode, error))?;
    drop(source.bytes);
    let mut warnings = std::mem::take(&mut decoded.warnings);
    warnings.extend(colour::to_srgb(&mut decoded, &source_exif).warnings);
    let scale = decoded.scale();
    Ok(Developed {
        working: orient::to_upright(decoded.image, orientation),
        scale,
        upright_size: source.upright_size,
        warnings,
    })
}

impl Drop for Developed {
    /// The working buffer goes back to this worker's pool: the next photo decodes into it.
    fn drop(&mut self) {
        crate::pixel_pool::give(std::mem::take(&mut self.working).into_raw());
    }
}

impl Developed {
    /// The small upright copy (long edge [`PREVIEW_LONG_EDGE`]) analysers look at.
    pub fn preview(
        &self,
        resizer: &mut fast_image_resize::Resizer,
    ) -> Result<RgbImage, (Stage, PhotoError)> {
        let (width, height) = resize::fit_long_edge(
            self.working.width(),
            self.working.height(),
            PREVIEW_LONG_EDGE,
        );
        resize::shrink_for_analysis(resizer, &self.working, width, height)
            .map_err(|message| (Stage::Decode, PhotoError::Processing(message)))
    }
}
