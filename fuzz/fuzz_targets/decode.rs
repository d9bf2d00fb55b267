//! The decode path (JPEG through libjpeg, PNG and TIFF through `image`) with its size guard,
//! then the conversion to sRGB from the file's ICC profile (moxcms parses it).
#![no_main]

use headshot::colour::to_srgb;
use headshot::decode::decode;
use headshot::discover::ImageFormat;
use libfuzzer_sys::fuzz_target;

mod caught;

/// A small limit keeps each run quick; the guard's logic does not depend on its value.
const MAX_MEGAPIXELS: u64 = 4;

fuzz_target!(|data: &[u8]| caught::run(data, decode_one));

fn decode_one(data: &[u8]) {
    let Some(format) = ImageFormat::sniff(data) else {
        return;
    };
    // The pipeline asks for 1/8..1 of the stored size; the last byte picks one.
    let min_scale = [0.1, 0.25, 0.5, 1.0][data.last().map_or(0, |b| *b as usize % 4)];
    if let Ok(mut decoded) = decode(data, format, min_scale, MAX_MEGAPIXELS) {
        let _ = to_srgb(&mut decoded, &[]);
    }
}
