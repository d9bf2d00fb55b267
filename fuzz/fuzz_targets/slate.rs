//! QR slates: payload classification, and the QR reader on small images.
#![no_main]

use headshot::names::{classify_payload, read_slate};
use libfuzzer_sys::fuzz_target;

mod caught;
mod slate_image;

fuzz_target!(|data: &[u8]| caught::run(data, read_one));

fn read_one(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = classify_payload(text);
    }
    let Some(image) = slate_image::slate_image(data) else {
        return;
    };
    if let Some(payload) = read_slate(&image) {
        let _ = classify_payload(&payload);
    }
}
