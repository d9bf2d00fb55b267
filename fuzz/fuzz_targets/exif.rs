//! EXIF reading from JPEG, PNG and TIFF bytes: never fails, problems become warnings.
#![no_main]

use headshot::exif_info::read_exif;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = read_exif(data);
    // The capture time is formatted for names and metadata; that must not panic either.
    let _ = format!("{read:?}");
});
