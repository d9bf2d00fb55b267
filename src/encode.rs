//! Encodes derivatives as JPEG with mozjpeg (libjpeg-turbo's speed by default, trellis when asked).

use mozjpeg::{ColorSpace, Compress, Marker};
use serde::{Deserialize, Serialize};

use crate::decode::panic_message;

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

/// Encoder effort: `fast` is libjpeg-turbo-like, `small` adds mozjpeg's trellis quantisation (~25% smaller, ~10x slower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    #[default]
    Fast,
    Small,
}

/// How one JPEG is written.
#[derive(Debug, Clone, PartialEq)]
pub struct JpegSettings {
    pub quality: u8,
    pub chroma: Chroma,
    pub progressive: bool,
    pub effort: Effort,
}

/// Encodes an RGB image to JPEG bytes, with the given APPn segments (marker number, payload) after SOI.
pub fn encode_jpeg(
    image: &image::RgbImage,
    settings: &JpegSettings,
    segments: &[(u8, Vec<u8>)],
) -> Result<Vec<u8>, String> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
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
            let settings = JpegSettings {
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
            let settings = JpegSettings {
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
}
