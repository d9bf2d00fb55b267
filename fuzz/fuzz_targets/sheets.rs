//! Names sheets and rosters: bytes as read from the file (BOM, UTF-16), then parsed.
#![no_main]

use std::path::Path;

use headshot::names::sheet::decode_text;
use headshot::names::{NameSheet, Roster};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("names.csv");
    let Ok(text) = decode_text(path, data) else {
        return;
    };
    if let Err(error) = NameSheet::parse(path, &text) {
        let _ = error.to_string();
    }
    if let Err(error) = Roster::parse(path, &text) {
        let _ = error.to_string();
    }
});
