//! Applies the EXIF orientation so every later stage works on the upright image.

use image::imageops;
use image::metadata::Orientation;
use image::RgbImage;

/// Turns a stored image upright for EXIF orientation `orientation` (1..=8; anything else is 1).
/// Flips work in place; a quarter turn writes into a spare buffer of this worker's
/// (`pixel_pool`) and gives the stored one back for the next photo.
pub fn to_upright(mut image: RgbImage, orientation: u8) -> RgbImage {
    let Some(transform) = Orientation::from_exif(orientation) else {
        return image;
    };
    let (clockwise, flip) = match transform {
        Orientation::NoTransforms => return image,
        Orientation::FlipHorizontal => (0, true),
        Orientation::Rotate180 => {
            imageops::rotate180_in_place(&mut image);
            return image;
        }
        Orientation::FlipVertical => {
            imageops::flip_vertical_in_place(&mut image);
            return image;
        }
        Orientation::Rotate90 => (90, false),
        Orientation::Rotate90FlipH => (90, true),
        Orientation::Rotate270 => (270, false),
        Orientation::Rotate270FlipH => (270, true),
    };
    let mut upright = if clockwise == 0 {
        image
    } else {
        quarter_turn(image, clockwise)
    };
    if flip {
        imageops::flip_horizontal_in_place(&mut upright);
    }
    upright
}

fn quarter_turn(image: RgbImage, clockwise: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let buffer = crate::pixel_pool::take(image.as_raw().len());
    let mut turned = RgbImage::from_raw(height, width, buffer)
        .expect("a buffer of the image's own length holds it turned");
    let turning = if clockwise == 90 {
        imageops::rotate90_in(&image, &mut turned)
    } else {
        imageops::rotate270_in(&image, &mut turned)
    };
    turning.expect("the destination has the turned dimensions");
    crate::pixel_pool::give(image.into_raw());
    turned
}

/// Whether the orientation swaps width and height (the 90-degree ones).
pub fn swaps_dimensions(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

/// Upright size of a stored `(width, height)`.
pub fn upright_size((width, height): (u32, u32), orientation: u8) -> (u32, u32) {
    if swaps_dimensions(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 image whose pixels are numbered 0..6 row by row.
    fn numbered() -> RgbImage {
        RgbImage::from_fn(3, 2, |x, y| image::Rgb([(y * 3 + x) as u8, 0, 0]))
    }

    fn rows(image: &RgbImage) -> Vec<Vec<u8>> {
        (0..image.height())
            .map(|y| {
                (0..image.width())
                    .map(|x| image.get_pixel(x, y)[0])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn all_eight_orientations_match_the_exif_definitions() {
        // Stored image:   0 1 2
        //                 3 4 5
        // Each case is what a viewer shows after applying the tag (EXIF 2.32, Orientation).
        let expected: [(u8, Vec<Vec<u8>>); 8] = [
            (1, vec![vec![0, 1, 2], vec![3, 4, 5]]),
            (2, vec![vec![2, 1, 0], vec![5, 4, 3]]),
            (3, vec![vec![5, 4, 3], vec![2, 1, 0]]),
            (4, vec![vec![3, 4, 5], vec![0, 1, 2]]),
            (5, vec![vec![0, 3], vec![1, 4], vec![2, 5]]),
            (6, vec![vec![3, 0], vec![4, 1], vec![5, 2]]),
            (7, vec![vec![5, 2], vec![4, 1], vec![3, 0]]),
            (8, vec![vec![2, 5], vec![1, 4], vec![0, 3]]),
        ];
        for (orientation, want) in expected {
            let upright = to_upright(numbered(), orientation);
            assert_eq!(rows(&upright), want, "orientation {orientation}");
            assert_eq!(
                upright.dimensions(),
                upright_size((3, 2), orientation),
                "orientation {orientation}"
            );
        }
    }

    #[test]
    fn invalid_orientations_mean_upright() {
        for orientation in [0, 9, 255] {
            assert_eq!(
                rows(&to_upright(numbered(), orientation)),
                rows(&numbered())
            );
        }
    }
}
