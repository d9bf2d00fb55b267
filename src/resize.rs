//! Resizes (and crops, in the same pass) with fast_image_resize's SIMD convolution.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// A crop box in the working image's pixels (fractional edges are honoured by the filter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceBox {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl SourceBox {
    pub fn whole(image: &RgbImage) -> Self {
        Self {
            left: 0.0,
            top: 0.0,
            width: image.width() as f64,
            height: image.height() as f64,
        }
    }
}

/// Output size that fits `(width, height)` into a `long_edge` box, never upscaling.
pub fn fit_long_edge(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= long_edge {
        return (width, height);
    }
    let scale = long_edge as f64 / longest as f64;
    let scaled = |side: u32| ((side as f64 * scale).round() as u32).max(1);
    if width >= height {
        (long_edge, scaled(height))
    } else {
        (scaled(width), long_edge)
    }
}

/// Crops `source_box` out of `image` and resizes it to `width`x`height` with Lanczos3.
pub fn crop_and_resize(
    resizer: &mut Resizer,
    image: &RgbImage,
    source_box: SourceBox,
    width: u32,
    height: u32,
) -> Result<RgbImage, String> {
    resize_with(
        resizer,
        image,
        source_box,
        (width, height),
        FilterType::Lanczos3,
    )
}

/// The whole of `image` at `width` x `height` for analysers (faces, saliency, white balance),
/// with a bilinear filter: a third of Lanczos3's taps, and the analysers look at shapes and
/// averages, not at the last bit of sharpness (a 24 MP frame's preview took 39 ms with Lanczos3).
pub fn shrink_for_analysis(
    resizer: &mut Resizer,
    image: &RgbImage,
    width: u32,
    height: u32,
) -> Result<RgbImage, String> {
    let whole = SourceBox::whole(image);
    resize_with(resizer, image, whole, (width, height), FilterType::Bilinear)
}

/// `source_box` of `image` at `width` x `height` with a box filter: with a whole number of
/// source pixels per output pixel, each output pixel is the mean of its block (SIMD; for
/// readers such as the QR slate detector that want plain block means).
pub fn shrink_to_block_means(
    image: &RgbImage,
    source_box: SourceBox,
    width: u32,
    height: u32,
) -> Result<RgbImage, String> {
    thread_local! {
        // Its work buffer (a source-wide band, tens of MB on 24 MP) stays for the next photo.
        static RESIZER: std::cell::RefCell<Resizer> = std::cell::RefCell::new(Resizer::new());
    }
    RESIZER.with(|resizer| {
        resize_with(
            &mut resizer.borrow_mut(),
            image,
            source_box,
            (width, height),
            FilterType::Box,
        )
    })
}

fn resize_with(
    resizer: &mut Resizer,
    image: &RgbImage,
    source_box: SourceBox,
    (width, height): (u32, u32),
    filter: FilterType,
) -> Result<RgbImage, String> {
    let source = ImageRef::new(
        image.width(),
        image.height(),
        image.as_raw(),
        PixelType::U8x3,
    )
    .map_err(|error| format!("resize source: {error}"))?;
    // From this worker's spare buffers (pixel_pool.rs): a derivative-sized buffer fresh from the
    // kernel faults in page by page.
    let buffer = crate::pixel_pool::take(width as usize * height as usize * 3);
    let mut destination = Image::from_vec_u8(width, height, buffer, PixelType::U8x3)
        .map_err(|error| format!("resize destination: {error}"))?;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(filter))
        .crop(
            source_box.left,
            source_box.top,
            source_box.width,
            source_box.height,
        );
    resizer
        .resize(&source, &mut destination, &options)
        .map_err(|error| format!("resize to {width}x{height}: {error}"))?;
    RgbImage::from_raw(width, height, destination.into_vec())
        .ok_or_else(|| "resize produced a short buffer".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_long_edge_without_upscaling() {
        assert_eq!(fit_long_edge(6000, 4000, 2048), (2048, 1365));
        assert_eq!(fit_long_edge(4000, 6000, 2048), (1365, 2048));
        assert_eq!(fit_long_edge(1000, 800, 2048), (1000, 800));
        assert_eq!(fit_long_edge(5000, 1, 400), (400, 1));
    }

    #[test]
    fn resizes_a_flat_image_to_the_same_colour() {
        let image = RgbImage::from_pixel(300, 200, image::Rgb([200, 100, 50]));
        let mut resizer = Resizer::new();
        let out = crop_and_resize(&mut resizer, &image, SourceBox::whole(&image), 30, 20).unwrap();
        assert_eq!(out.dimensions(), (30, 20));
        assert!(out.pixels().all(|p| p.0 == [200, 100, 50]));
    }

    #[test]
    fn crops_while_resizing() {
        // Left half black, right half white: cropping the right half gives white only.
        let image = RgbImage::from_fn(200, 100, |x, _| {
            if x < 100 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let mut resizer = Resizer::new();
        let right = SourceBox {
            left: 100.0,
            top: 0.0,
            width: 100.0,
            height: 100.0,
        };
        let out = crop_and_resize(&mut resizer, &image, right, 10, 10).unwrap();
        let row: Vec<u8> = (0..10).map(|x| out.get_pixel(x, 5).0[0]).collect();
        // Lanczos3 at 10x reaches 30 source px past the crop edge; beyond that, pure white.
        assert!(row[4..].iter().all(|&v| v > 250), "{row:?}");
    }
}
