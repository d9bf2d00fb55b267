//! Applying a crop plan to the upright working image: a plain sub-image copy when
//! nothing turns or pads, otherwise a bilinear resample of the rotated window.

use image::RgbImage;

use super::geometry::{scaled_size, Frame};
use super::CropPlan;

/// Cuts `plan.rect` out of `image`, the upright working image (the photo decoded at
/// `scale` working px per source px), turning and padding as planned.
///
/// The output is `plan.rect` scaled by `scale`, sized to keep the rect's aspect
/// (whole multiples of its reduced ratio when possible); it is never upscaled
/// beyond the working image's own resolution.
pub fn apply_crop(image: &RgbImage, plan: &CropPlan, scale: f64) -> RgbImage {
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        // A caller bug, not a user mistake: derive the scale rather than fail.
        f64::from(image.width()) / f64::from(plan.upright_size.0.max(1))
    };
    let rect = plan.rect;
    if rect.width == 0 || rect.height == 0 || image.width() == 0 || image.height() == 0 {
        return RgbImage::new(0, 0);
    }
    let (output_width, output_height) = scaled_size(rect.width, rect.height, scale);
    let frame = Frame::new(plan.upright_size, plan.rotation_degrees);

    let inside_source = rect.x >= 0
        && rect.y >= 0
        && rect.x + i64::from(rect.width) <= i64::from(plan.upright_size.0)
        && rect.y + i64::from(rect.height) <= i64::from(plan.upright_size.1);
    if !frame.is_rotated()
        && inside_source
        && output_width <= image.width()
        && output_height <= image.height()
    {
        // Fast path: whole working pixels, nearest to the scaled rect.
        let start = |origin: i64, output: u32, limit: u32| {
            ((origin as f64 * scale).round() as u32).min(limit - output)
        };
        let x = start(rect.x, output_width, image.width());
        let y = start(rect.y, output_height, image.height());
        return image::imageops::crop_imm(image, x, y, output_width, output_height).to_image();
    }

    let pad = plan.pad;
    let step_x = f64::from(rect.width) / f64::from(output_width);
    let step_y = f64::from(rect.height) / f64::from(output_height);
    let mut output = RgbImage::new(output_width, output_height);
    let row_bytes = output_width as usize * 3;
    let samples: &mut [u8] = &mut output;
    samples
        .chunks_mut(row_bytes)
        .enumerate()
        .for_each(|(row, row_samples)| {
            let frame_y = rect.y as f64 + (row as f64 + 0.5) * step_y;
            for (column, pixel) in row_samples.chunks_exact_mut(3).enumerate() {
                let frame_x = rect.x as f64 + (column as f64 + 0.5) * step_x;
                let (source_x, source_y) = frame.unrotated((frame_x, frame_y));
                let outside = source_x < 0.0
                    || source_y < 0.0
                    || source_x > frame.width
                    || source_y > frame.height;
                let colour = match pad {
                    Some(fill) if outside => fill,
                    // Without padding the plan keeps the window inside; sub-pixel rounding
                    // at the edge just repeats the edge pixel.
                    _ => bilinear(image, source_x * scale - 0.5, source_y * scale - 0.5),
                };
                pixel.copy_from_slice(&colour);
            }
        });
    output
}

/// Bilinear sample at pixel-index coordinates, clamped to the image's edge.
fn bilinear(image: &RgbImage, x: f64, y: f64) -> [u8; 3] {
    let max_x = f64::from(image.width() - 1);
    let max_y = f64::from(image.height() - 1);
    let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
    let (left, top) = (x.floor(), y.floor());
    let (fraction_x, fraction_y) = (x - left, y - top);
    let (left, top) = (left as u32, top as u32);
    let right = (left + 1).min(image.width() - 1);
    let bottom = (top + 1).min(image.height() - 1);
    let [top_left, top_right, bottom_left, bottom_right] = [
        image.get_pixel(left, top).0,
        image.get_pixel(right, top).0,
        image.get_pixel(left, bottom).0,
        image.get_pixel(right, bottom).0,
    ];
    std::array::from_fn(|channel| {
        let top_value = f64::from(top_left[channel]) * (1.0 - fraction_x)
            + f64::from(top_right[channel]) * fraction_x;
        let bottom_value = f64::from(bottom_left[channel]) * (1.0 - fraction_x)
            + f64::from(bottom_right[channel]) * fraction_x;
        (top_value * (1.0 - fraction_y) + bottom_value * fraction_y).round() as u8
    })
}
