//! QR slates: payload classification, and the QR reader on small images.
#![no_main]

use headshot::names::{classify_payload, read_slate};
use libfuzzer_sys::fuzz_target;

mod caught;

fuzz_target!(|data: &[u8]| caught::run(data, read_one));

fn read_one(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = classify_payload(text);
    }
    // Two bytes of size, then grey pixels (repeated to fill): small images only.
    if data.len() < 3 {
        return;
    }
    let width = u32::from(data[0] % 96) + 1;
    let height = u32::from(data[1] % 96) + 1;
    let pixels = &data[2..];
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let grey = pixels[((y * width + x) as usize) % pixels.len()];
        image::Rgb([grey, grey, grey])
    });
    if let Some(payload) = read_slate(&image) {
        let _ = classify_payload(&payload);
    }
}
