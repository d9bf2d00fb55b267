//! The slate target's input as an image, shared with `tests/fuzz_regressions.rs` (which
//! includes this file) so a saved input replays exactly as the fuzzer saw it.

/// Two bytes of size (1-96 px each), then grey pixels repeated to fill; `None` under 3 bytes.
pub fn slate_image(data: &[u8]) -> Option<image::RgbImage> {
    if data.len() < 3 {
        return None;
    }
    let width = u32::from(data[0] % 96) + 1;
    let height = u32::from(data[1] % 96) + 1;
    let pixels = &data[2..];
    Some(image::RgbImage::from_fn(width, height, |x, y| {
        let grey = pixels[((y * width + x) as usize) % pixels.len()];
        image::Rgb([grey, grey, grey])
    }))
}
