//! `.cube` 3D LUT files.
#![no_main]

use std::path::Path;

use headshot::tone::parse_cube;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = parse_cube(text, Path::new("look.cube")) {
        let _ = error.to_string();
    }
});
