//! EXIF reading from JPEG, PNG and TIFF bytes (never fails: problems become warnings), then the
//! source fields carried into a derivative's EXIF block under the `keep` and `privacy` policies.
#![no_main]

use headshot::exif_info::read_exif;
use headshot::metadata::{metadata_blocks, MetadataPolicy, OutputMetadata};
use libfuzzer_sys::fuzz_target;

mod caught;

fuzz_target!(|data: &[u8]| caught::run(data, read_one));

fn read_one(data: &[u8]) {
    let read = read_exif(data);
    // The capture time is formatted for names and metadata; that must not panic either.
    if let Some(time) = &read.info.capture_time {
        let _ = (
            time.iso8601(),
            time.date(),
            time.time_for_filename(),
            time.exif_date_time(),
            time.exif_subsec(),
            time.exif_offset(),
        );
    }
    let _ = format!("{:?} {:?}", read.info, read.warnings);
    let Some(exif) = read.exif else {
        return;
    };
    let source: Vec<_> = exif.fields().cloned().collect();
    let meta = OutputMetadata::new(64, 48);
    for policy in [MetadataPolicy::Keep, MetadataPolicy::Privacy] {
        // An error is the photo's failure, named; a panic here would not be caught.
        let _ = metadata_blocks(&meta, Some(&source), policy).map_err(|e| e.to_string());
    }
}
