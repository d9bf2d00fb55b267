//! EXIF reading from JPEG, PNG and TIFF bytes: never fails, problems become warnings.
#![no_main]

use headshot::exif_info::read_exif;
use libfuzzer_sys::fuzz_target;

mod caught;

fuzz_target!(|data: &[u8]| caught::run(data, read_one));

fn read_one(data: &[u8]) {
    let read = read_exif(data);
    // The capture time is sliced for names and metadata; that must not panic either.
    if let Some(time) = &read.info.capture_time {
        let _ = (
            time.iso8601(),
            time.date(),
            time.time_for_filename(),
            time.seconds(),
        );
    }
    let _ = format!("{:?} {:?}", read.info, read.warnings);
}
