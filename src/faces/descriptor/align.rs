//! Cutting the aligned 150x150 face chip the descriptor network was trained on.
//!
//! dlib's `get_face_chip_details(shape, 150, 0.25)` maps five landmarks (eye
//! corners, nose base) onto a fixed template with a similarity transform. We
//! have BlazeFace's eye centres, so the transform maps them onto the centres of
//! the template's eye corners; two points fix rotation, scale and shift exactly.

use fast_image_resize::{images, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::faces::{Face, FaceError};

/// Side of the square chip, in pixels (the network's input).
pub const CHIP_SIDE: u32 = 150;
/// dlib's padding around the landmark template, as a fraction of its size.
const PADDING: f32 = 0.25;
/// Centres of dlib's 5-point template eye corners, in the unit template
/// (image-left eye = the subject's right eye first).
const TEMPLATE_EYES: [[f32; 2]; 2] = [
    [
        (0.120_575_06 + 0.334_085_06) / 2.0,
        (0.213_727_45 + 0.229_064_24) / 2.0,
    ],
    [
        (0.859_567_46 + 0.646_060_5) / 2.0,
        (0.213_498_15 + 0.228_967_44) / 2.0,
    ],
];
/// Above this many source pixels per chip pixel, the face is first shrunk with an
/// anti-aliasing filter (dlib shrinks through an image pyramid for the same reason).
const MAX_DIRECT_SCALE: f32 = 1.25;

/// Where a chip pixel comes from: `source = origin + matrix * chip`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ChipMap {
    origin: [f32; 2],
    /// Rows of the 2x2 matrix.
    matrix: [[f32; 2]; 2],
}

impl ChipMap {
    /// The similarity taking the template eyes (in chip pixels) onto `eyes`.
    fn from_eyes(eyes: [[f32; 2]; 2]) -> Option<ChipMap> {
        let to_chip = |p: [f32; 2]| {
            let side = CHIP_SIDE as f32;
            let scale = side / (1.0 + 2.0 * PADDING);
            [(p[0] + PADDING) * scale, (p[1] + PADDING) * scale]
        };
        let [chip_a, chip_b] = TEMPLATE_EYES.map(to_chip);
        let [a, b] = eyes;
        let (dx, dy) = (chip_b[0] - chip_a[0], chip_b[1] - chip_a[1]);
        let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
        // Complex division (ex + i ey) / (dx + i dy) gives scale and rotation.
        let norm = dx * dx + dy * dy;
        let c = (ex * dx + ey * dy) / norm;
        let s = (ey * dx - ex * dy) / norm;
        let scale = (c * c + s * s).sqrt();
        if !(scale.is_finite() && scale > 1e-3) {
            return None;
        }
        let origin = [
            a[0] - (c * chip_a[0] - s * chip_a[1]),
            a[1] - (s * chip_a[0] + c * chip_a[1]),
        ];
        Some(ChipMap {
            origin,
            matrix: [[c, -s], [s, c]],
        })
    }

    fn apply(&self, chip: [f32; 2]) -> [f32; 2] {
        let [[a, b], [c, d]] = self.matrix;
        [
            self.origin[0] + a * chip[0] + b * chip[1],
            self.origin[1] + c * chip[0] + d * chip[1],
        ]
    }

    /// Source pixels per chip pixel (the similarity's scale).
    fn scale(&self) -> f32 {
        let [[a, _], [c, _]] = self.matrix;
        (a * a + c * c).sqrt()
    }

    /// The same map followed by `source -> (source - offset) / factor`, per axis.
    fn into_region(self, offset: [f32; 2], factor: [f32; 2]) -> ChipMap {
        let row = |axis: usize| self.matrix[axis].map(|value| value / factor[axis]);
        ChipMap {
            origin: [
                (self.origin[0] - offset[0]) / factor[0],
                (self.origin[1] - offset[1]) / factor[1],
            ],
            matrix: [row(0), row(1)],
        }
    }
}

/// The aligned [`CHIP_SIDE`] x [`CHIP_SIDE`] chip of `face` (in `upright`'s pixels),
/// as dlib's face descriptor expects it; parts of the chip outside the photo are black.
pub fn face_chip(upright: &RgbImage, face: &Face) -> Result<RgbImage, FaceError> {
    let unalignable = |message: &str| FaceError::Unalignable {
        bbox: face.bbox,
        message: message.to_owned(),
    };
    if upright.width() == 0 || upright.height() == 0 {
        return Err(FaceError::EmptyImage {
            width: upright.width(),
            height: upright.height(),
        });
    }
    if face.eyes.iter().flatten().any(|v| !v.is_finite()) {
        return Err(unalignable("the eye positions are not finite"));
    }
    let transform =
        ChipMap::from_eyes(face.eyes).ok_or_else(|| unalignable("the two eyes coincide"))?;
    if transform.scale() <= MAX_DIRECT_SCALE {
        return Ok(warp(upright, &transform));
    }
    match shrunk_region(upright, &transform).map_err(|message| unalignable(&message))? {
        Some((region, region_transform)) => Ok(warp(&region, &region_transform)),
        None => Ok(RgbImage::new(CHIP_SIDE, CHIP_SIDE)),
    }
}

/// The part of `upright` the chip covers, shrunk to about one pixel per chip pixel,
/// with the transform into it; `None` when the chip lies wholly outside the photo.
fn shrunk_region(
    upright: &RgbImage,
    transform: &ChipMap,
) -> Result<Option<(RgbImage, ChipMap)>, String> {
    let side = CHIP_SIDE as f32;
    let corners = [[0.0, 0.0], [side, 0.0], [0.0, side], [side, side]].map(|p| transform.apply(p));
    let bound = |axis: usize, limit: u32, pick: fn(f32, f32) -> f32, start: f32| {
        let value = corners.iter().map(|p| p[axis]).fold(start, pick);
        value.clamp(0.0, limit as f32)
    };
    let left = bound(0, upright.width(), f32::min, f32::INFINITY).floor();
    let top = bound(1, upright.height(), f32::min, f32::INFINITY).floor();
    let right = bound(0, upright.width(), f32::max, f32::NEG_INFINITY).ceil();
    let bottom = bound(1, upright.height(), f32::max, f32::NEG_INFINITY).ceil();
    let (width, height) = (right - left, bottom - top);
    if width < 1.0 || height < 1.0 {
        return Ok(None);
    }
    let scale = transform.scale();
    let target_width = ((width / scale).round() as u32).max(1);
    let target_height = ((height / scale).round() as u32).max(1);
    let source = images::ImageRef::new(
        upright.width(),
        upright.height(),
        upright.as_raw(),
        PixelType::U8x3,
    )
    .map_err(|e| format!("wrapping the photo for resizing: {e}"))?;
    let mut region = images::Image::new(target_width, target_height, PixelType::U8x3);
    let options = ResizeOptions::new()
        .crop(left as f64, top as f64, width as f64, height as f64)
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize(&source, &mut region, &options)
        .map_err(|e| format!("shrinking the face region to {target_width}x{target_height}: {e}"))?;
    let region = RgbImage::from_raw(target_width, target_height, region.into_vec())
        .ok_or("the shrunk face region has the wrong size")?;
    let factor = [width / target_width as f32, height / target_height as f32];
    Ok(Some((region, transform.into_region([left, top], factor))))
}

/// Samples every chip pixel centre from `source` bilinearly; outside is black.
fn warp(source: &RgbImage, transform: &ChipMap) -> RgbImage {
    let (width, height) = (source.width() as i64, source.height() as i64);
    let raw = source.as_raw();
    let texel = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= width || y >= height {
            return [0.0; 3];
        }
        let at = ((y * width + x) * 3) as usize;
        [raw[at] as f32, raw[at + 1] as f32, raw[at + 2] as f32]
    };
    RgbImage::from_fn(CHIP_SIDE, CHIP_SIDE, |column, row| {
        let [u, v] = transform.apply([column as f32 + 0.5, row as f32 + 0.5]);
        // Pixel centres sit at half-integers.
        let (x, y) = (u - 0.5, v - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let [p00, p10, p01, p11] = [
            texel(x0, y0),
            texel(x0 + 1, y0),
            texel(x0, y0 + 1),
            texel(x0 + 1, y0 + 1),
        ];
        let mut pixel = [0u8; 3];
        for (channel, value) in pixel.iter_mut().enumerate() {
            let top = p00[channel] + (p10[channel] - p00[channel]) * fx;
            let bottom = p01[channel] + (p11[channel] - p01[channel]) * fx;
            *value = (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8;
        }
        image::Rgb(pixel)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face_with_eyes(eyes: [[f32; 2]; 2]) -> Face {
        Face {
            bbox: [0.0, 0.0, 10.0, 10.0],
            score: 0.9,
            eyes,
        }
    }

    fn chip_eyes() -> [[f32; 2]; 2] {
        let scale = CHIP_SIDE as f32 / (1.0 + 2.0 * PADDING);
        TEMPLATE_EYES.map(|p| [(p[0] + PADDING) * scale, (p[1] + PADDING) * scale])
    }

    #[test]
    fn template_eyes_map_onto_the_face_eyes() {
        let eyes = [[120.0, 80.0], [180.0, 110.0]];
        let transform = ChipMap::from_eyes(eyes).expect("distinct eyes");
        for (chip, source) in chip_eyes().iter().zip(eyes) {
            let mapped = transform.apply(*chip);
            assert!(
                (mapped[0] - source[0]).abs() < 1e-3,
                "{mapped:?} vs {source:?}"
            );
            assert!(
                (mapped[1] - source[1]).abs() < 1e-3,
                "{mapped:?} vs {source:?}"
            );
        }
        assert!(ChipMap::from_eyes([[5.0, 5.0], [5.0, 5.0]]).is_none());
    }

    #[test]
    fn chip_of_an_upright_face_is_a_plain_crop() {
        // Eyes placed exactly where the chip wants them: the chip is the image itself.
        let image = RgbImage::from_fn(CHIP_SIDE, CHIP_SIDE, |x, y| {
            image::Rgb([x as u8, y as u8, (x + y) as u8])
        });
        let chip = face_chip(&image, &face_with_eyes(chip_eyes())).expect("aligns");
        assert_eq!(chip, image);
    }

    #[test]
    fn rotated_face_is_turned_upright_and_outside_is_black() {
        // A bright dot on the left eye of a face turned 90 degrees clockwise
        // (eyes one above the other) must land on the chip's left eye.
        let mut image = RgbImage::new(400, 400);
        for y in 95..106 {
            for x in 295..306 {
                image.put_pixel(x, y, image::Rgb([255, 255, 255]));
            }
        }
        let face = face_with_eyes([[300.0, 100.0], [300.0, 200.0]]);
        let chip = face_chip(&image, &face).expect("aligns");
        let [left, _] = chip_eyes();
        let at_eye = chip.get_pixel(left[0] as u32, left[1] as u32);
        assert!(at_eye[0] > 200, "{at_eye:?}");
        // Shrunk by about 2x: the region past the top-right corner is outside the photo.
        assert_eq!(chip.get_pixel(0, CHIP_SIDE - 1), &image::Rgb([0, 0, 0]));
    }

    #[test]
    fn faces_off_the_photo_and_bad_eyes() {
        let image = RgbImage::from_pixel(50, 50, image::Rgb([200, 200, 200]));
        let far = face_with_eyes([[5000.0, 5000.0], [5400.0, 5000.0]]);
        let chip = face_chip(&image, &far).expect("a black chip");
        assert!(chip.pixels().all(|p| p == &image::Rgb([0, 0, 0])));
        let same = face_with_eyes([[10.0, 10.0], [10.0, 10.0]]);
        assert!(matches!(
            face_chip(&image, &same),
            Err(FaceError::Unalignable { .. })
        ));
        let nan = face_with_eyes([[f32::NAN, 10.0], [20.0, 10.0]]);
        assert!(matches!(
            face_chip(&image, &nan),
            Err(FaceError::Unalignable { .. })
        ));
    }
}
