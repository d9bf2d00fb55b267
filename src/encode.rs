//! Encodes derivatives: JPEG with mozjpeg (libjpeg-turbo's speed by default, trellis when
//! asked), lossy WebP with libwebp, AVIF with rav1e (ravif); each with the run's metadata and
//! colour profile as far as the format carries them, and, under a byte budget, at the highest
//! quality that fits.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mozjpeg::{ColorSpace, Compress, Marker};
use serde::{Deserialize, Serialize};

use crate::decode::panic_message;
use crate::metadata::{self, MetadataBlocks};

/// File format of a derivative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Jpeg,
    /// Lossy WebP (always 4:2:0): ~25-30% smaller than JPEG at the same look.
    Webp,
    /// AVIF (4:4:4, 10-bit): smallest files, slowest to encode.
    Avif,
}

impl OutputFormat {
    /// The file extension the `{ext}` of a name template becomes.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
        }
    }

    /// Whether a file name ending in `.{extension}` could hold this format. Only image
    /// extensions are judged: another format's extension is a mistake, anything else is the
    /// user's own naming.
    pub fn fits_extension(self, extension: &str) -> bool {
        let extension = extension.to_ascii_lowercase();
        let image_extensions = [
            "jpg", "jpeg", "jpe", "webp", "avif", "png", "tif", "tiff", "heic", "heif", "gif",
        ];
        let matches_format = match self {
            OutputFormat::Jpeg => matches!(extension.as_str(), "jpg" | "jpeg" | "jpe"),
            OutputFormat::Webp => extension == "webp",
            OutputFormat::Avif => extension == "avif",
        };
        matches_format || !image_extensions.contains(&extension.as_str())
    }

    /// The name used in presets and the manifest.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Webp => "webp",
            OutputFormat::Avif => "avif",
        }
    }
}

/// Chroma subsampling of a JPEG derivative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Chroma {
    /// Full colour resolution: best for small images and saturated edges.
    #[serde(rename = "4:4:4")]
    Full,
    /// Half horizontal colour resolution.
    #[serde(rename = "4:2:2")]
    HalfHorizontal,
    /// Quarter colour resolution, the camera default: smallest files.
    #[default]
    #[serde(rename = "4:2:0")]
    Quarter,
}

impl Chroma {
    /// The name used in presets.
    pub fn name(self) -> &'static str {
        match self {
            Chroma::Full => "4:4:4",
            Chroma::HalfHorizontal => "4:2:2",
            Chroma::Quarter => "4:2:0",
        }
    }
}

/// Encoder effort. `fast`: libjpeg-turbo-like JPEG, WebP method 4, AVIF speed 8. `small`: mozjpeg's
/// trellis quantisation (~15% smaller at the same `quality` number but also a lower measured
/// quality: at equal SSIMULACRA2 it saves nothing, see bench/README.md, and it is ~6x slower),
/// WebP method 6 with sharp YUV, AVIF speed 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    #[default]
    Fast,
    Small,
}

/// How one derivative is encoded, whatever its format. `chroma` and `progressive` apply to JPEG
/// only: libwebp's lossy mode is always 4:2:0 and ravif always 4:4:4.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeSettings {
    pub format: OutputFormat,
    pub quality: u8,
    pub chroma: Chroma,
    pub progressive: bool,
    pub effort: Effort,
}

/// What goes inside the file beside the pixels.
#[derive(Debug, Clone, Copy)]
pub struct Embedded<'a> {
    pub blocks: &'a MetadataBlocks,
    /// ICC profile of the pixels; AVIF signals sRGB with its colour description (nclx) instead.
    pub icc_profile: &'a [u8],
}

/// An encoded derivative and the quality it was encoded at.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub quality: u8,
    /// False when even `min_quality` was over the byte budget (the file is then the smallest tried).
    pub within_budget: bool,
}

/// Encodes `image` in the settings' format with the metadata embedded.
pub fn encode(
    image: &image::RgbImage,
    settings: &EncodeSettings,
    embedded: Embedded<'_>,
) -> Result<Vec<u8>, String> {
    let staged = encode_staged(image, settings)?;
    embed(&staged, settings.format, image.dimensions(), embedded).map_err(|e| e.to_string())
}

/// The pixels of a derivative in its format with the sRGB profile, before any people or shoot
/// metadata: JPEG with its ICC segments, WebP in the simple format, AVIF as ravif writes it
/// (its nclx colour description says sRGB). [`embed`] completes it.
pub fn encode_staged(
    image: &image::RgbImage,
    settings: &EncodeSettings,
) -> Result<Vec<u8>, String> {
    match settings.format {
        OutputFormat::Jpeg => {
            let segments = metadata::icc_segments(crate::colour::srgb_icc());
            encode_jpeg(image, settings, &segments)
        }
        OutputFormat::Webp => encode_webp(image, settings.quality, settings.effort),
        OutputFormat::Avif => encode_avif(image, settings.quality, settings.effort),
    }
}

/// A staged file (from [`encode_staged`]) of `dimensions` pixels with `embedded` put into its
/// container: JPEG APPn segments, WebP chunks (with the ICC profile), AVIF items. No pixel is
/// decoded or re-encoded.
pub fn embed(
    staged: &[u8],
    format: OutputFormat,
    dimensions: (u32, u32),
    embedded: Embedded<'_>,
) -> Result<Vec<u8>, metadata::MetadataError> {
    let blocks = embedded.blocks;
    match format {
        OutputFormat::Jpeg => {
            let segments = metadata::jpeg_segments_from_blocks(blocks)?;
            metadata::insert_segments_into_jpeg(staged, &segments)
        }
        OutputFormat::Webp => {
            metadata::webp_with_metadata(staged, dimensions, embedded.icc_profile, blocks)
        }
        OutputFormat::Avif => {
            let mut file = staged.to_vec();
            if !blocks.exif_tiff.is_empty() {
                file = metadata::avif_with_exif(&file, &blocks.exif_tiff)?;
            }
            if !blocks.xmp_packet.is_empty() {
                file = metadata::avif_with_xmp(&file, blocks.xmp_packet.as_bytes())?;
            }
            Ok(file)
        }
    }
}

/// Encodes the staged file at `settings.quality`, or, when that is over `max_bytes`, at the
/// highest quality down to `min_quality` whose staged file fits (the caller leaves room in
/// `max_bytes` for the metadata [`embed`] adds). File size grows with quality, so
/// a bisection needs about log2(quality - min_quality) extra encodes, only for outputs over budget.
pub fn encode_within(
    image: &image::RgbImage,
    settings: &EncodeSettings,
    max_bytes: Option<u64>,
    min_quality: u8,
) -> Result<Encoded, String> {
    let at = |quality: u8| {
        let settings = EncodeSettings {
            quality,
            ..settings.clone()
        };
        encode_staged(image, &settings).map(|bytes| Encoded {
            bytes,
            quality,
            within_budget: true,
        })
    };
    let first = at(settings.quality)?;
    let Some(budget) = max_bytes else {
        return Ok(first);
    };
    let fits = |encoded: &Encoded| encoded.bytes.len() as u64 <= budget;
    let floor = min_quality.min(settings.quality);
    if fits(&first) || floor == settings.quality {
        let within_budget = fits(&first);
        return Ok(Encoded {
            within_budget,
            ..first
        });
    }
    let lowest = at(floor)?;
    if !fits(&lowest) {
        return Ok(Encoded {
            within_budget: false,
            ..lowest
        });
    }
    // Invariant: `best` (at quality `low`) fits, quality `high` does not.
    let (mut low, mut high, mut best) = (floor, settings.quality, lowest);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let candidate = at(middle)?;
        if fits(&candidate) {
            low = middle;
            best = candidate;
        } else {
            high = middle;
        }
    }
    Ok(best)
}

/// Lossy WebP in the simple format (a lone `VP8 ` chunk); `Small` effort spends libwebp's slowest
/// method and sharp RGB->YUV conversion on a few percent of size and crisper colour edges.
fn encode_webp(image: &image::RgbImage, quality: u8, effort: Effort) -> Result<Vec<u8>, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut config =
            webp::WebPConfig::new().map_err(|()| "WebP encoder: bad configuration".to_string())?;
        config.lossless = 0;
        config.quality = quality as f32;
        (config.method, config.use_sharp_yuv) = match effort {
            Effort::Fast => (4, 0),
            Effort::Small => (6, 1),
        };
        let encoder = webp::Encoder::from_rgb(image.as_raw(), image.width(), image.height());
        encoder
            .encode_advanced(&config)
            .map(|memory| memory.to_vec())
            .map_err(|error| format!("WebP encoder: {error:?}"))
    }));
    outcome.unwrap_or_else(|payload| {
        Err(format!(
            "WebP encoder failed: {}",
            panic_message(payload.as_ref())
        ))
    })
}

/// AVIF through rav1e, single-threaded: photos already run in parallel, one per core.
fn encode_avif(image: &image::RgbImage, quality: u8, effort: Effort) -> Result<Vec<u8>, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let pixels: Vec<ravif::RGB8> = image
            .as_raw()
            .chunks_exact(3)
            .map(|pixel| ravif::RGB8::new(pixel[0], pixel[1], pixel[2]))
            .collect();
        let speed = match effort {
            Effort::Fast => 8,
            Effort::Small => 4,
        };
        ravif::Encoder::new()
            .with_quality(quality as f32)
            .with_speed(speed)
            .with_num_threads(Some(1))
            .encode_rgb(ravif::Img::new(
                pixels.as_slice(),
                image.width() as usize,
                image.height() as usize,
            ))
            .map(|encoded| encoded.avif_file)
            .map_err(|error| format!("AVIF encoder: {error}"))
    }));
    outcome.unwrap_or_else(|payload| {
        Err(format!(
            "AVIF encoder failed: {}",
            panic_message(payload.as_ref())
        ))
    })
}

/// Encodes an RGB image to JPEG bytes, with the given APPn segments (marker number, payload) after
/// SOI. `settings.format` is not consulted: this is the JPEG encoder.
pub fn encode_jpeg(
    image: &image::RgbImage,
    settings: &EncodeSettings,
    segments: &[(u8, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut compress = Compress::new(ColorSpace::JCS_RGB);
        // Profile first: both calls reset quality, sampling and the scan script.
        if settings.effort == Effort::Fast {
            compress.set_fastest_defaults();
            // mozjpeg's scan search encodes each candidate scan: too slow for the fast path.
            compress.set_optimize_scans(false);
        }
        compress.set_size(image.width() as usize, image.height() as usize);
        compress.set_quality(settings.quality as f32);
        let (h, v) = match settings.chroma {
            Chroma::Full => (1, 1),
            Chroma::HalfHorizontal => (2, 1),
            Chroma::Quarter => (2, 2),
        };
        compress.set_chroma_sampling_pixel_sizes((h, v), (h, v));
        if settings.progressive {
            compress.set_progressive_mode();
        }
        compress.set_optimize_coding(true);
        let mut started = compress.start_compress(Vec::with_capacity(
            image.width() as usize * image.height() as usize / 4,
        ))?;
        for (marker, payload) in segments {
            started.write_marker(Marker::APP(*marker), payload);
        }
        started.write_scanlines(image.as_raw())?;
        started.finish()
    }));
    match outcome {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(format!("JPEG encoder: {error}")),
        Err(payload) => Err(format!(
            "JPEG encoder failed: {}",
            panic_message(payload.as_ref())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_jpeg_that_decodes_to_the_same_picture() {
        let image = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
        });
        for progressive in [false, true] {
            let settings = EncodeSettings {
                format: OutputFormat::Jpeg,
                quality: 90,
                chroma: Chroma::Full,
                progressive,
                effort: Effort::Fast,
            };
            let bytes = encode_jpeg(&image, &settings, &[(1, b"test segment".to_vec())]).unwrap();
            assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
            assert!(bytes.windows(12).any(|w| w == b"test segment"));
            let decoded =
                crate::decode::decode(&bytes, crate::discover::ImageFormat::Jpeg, 1.0, 10).unwrap();
            assert_eq!(decoded.image.dimensions(), (64, 48));
            let difference: u64 = decoded
                .image
                .as_raw()
                .iter()
                .zip(image.as_raw())
                .map(|(a, b)| (*a as i32 - *b as i32).unsigned_abs() as u64)
                .sum();
            assert!(difference as f64 / (64.0 * 48.0 * 3.0) < 3.0);
            // SOF2 marks a progressive JPEG, SOF0 a baseline one.
            let marker = if progressive {
                [0xFF, 0xC2]
            } else {
                [0xFF, 0xC0]
            };
            assert!(
                bytes.windows(2).any(|w| w == marker),
                "progressive = {progressive}"
            );
        }
    }

    #[test]
    fn quality_and_chroma_settings_take_effect() {
        let image = image::RgbImage::from_fn(256, 256, |x, y| {
            image::Rgb([(x ^ y) as u8, (x * 7 + y * 3) as u8, (x * y) as u8])
        });
        let encode = |quality: u8, chroma: Chroma| {
            let settings = EncodeSettings {
                format: OutputFormat::Jpeg,
                quality,
                chroma,
                progressive: true,
                effort: Effort::Fast,
            };
            encode_jpeg(&image, &settings, &[]).unwrap().len()
        };
        assert!(encode(95, Chroma::Quarter) > encode(50, Chroma::Quarter) * 13 / 10);
        assert!(encode(85, Chroma::Full) > encode(85, Chroma::Quarter) * 11 / 10);
    }

    fn textured_image() -> image::RgbImage {
        image::RgbImage::from_fn(200, 160, |x, y| {
            let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7;
            image::Rgb([
                (x + noise % 64) as u8,
                (y + noise % 48) as u8,
                (noise % 200) as u8,
            ])
        })
    }

    #[test]
    fn a_byte_budget_gets_the_highest_quality_that_fits() {
        let image = textured_image();
        for format in [OutputFormat::Jpeg, OutputFormat::Webp] {
            let settings = EncodeSettings {
                format,
                quality: 95,
                chroma: Chroma::Quarter,
                progressive: true,
                effort: Effort::Fast,
            };
            let size_at = |quality: u8| {
                let settings = EncodeSettings {
                    quality,
                    ..settings.clone()
                };
                encode_staged(&image, &settings).unwrap().len() as u64
            };
            let budget = (size_at(95) + size_at(50)) / 2;
            let fitted = encode_within(&image, &settings, Some(budget), 40).unwrap();
            assert!(fitted.within_budget, "{format:?}");
            assert!(fitted.bytes.len() as u64 <= budget, "{format:?}");
            assert!(
                (50..95).contains(&fitted.quality),
                "{format:?}: {}",
                fitted.quality
            );
            // libwebp's size is not strictly monotone in quality; JPEG's quantisation tables are.
            assert!(
                format != OutputFormat::Jpeg || size_at(fitted.quality + 1) > budget,
                "{format:?}: quality {} + 1 also fits",
                fitted.quality
            );

            let unreachable = encode_within(&image, &settings, Some(100), 60).unwrap();
            assert!(!unreachable.within_budget);
            assert_eq!(unreachable.quality, 60);

            let unbounded = encode_within(&image, &settings, None, 40).unwrap();
            assert_eq!((unbounded.quality, unbounded.within_budget), (95, true));
        }
    }
}
