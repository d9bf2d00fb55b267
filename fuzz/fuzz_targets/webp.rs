//! The WebP rewrap that frames an encoder's simple file in VP8X with ICC, EXIF and XMP chunks.
#![no_main]

use headshot::metadata::{webp_with_metadata, MetadataBlocks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first 4 bytes pick the canvas size (0 and huge sizes included); the rest is the file.
    if data.len() < 4 {
        return;
    }
    let (size, file) = data.split_at(4);
    let width = u32::from(u16::from_le_bytes([size[0], size[1]])) << (size[3] & 8);
    let height = u32::from(size[2]) << (size[3] & 15);
    let blocks = MetadataBlocks {
        exif_tiff: b"II*\0\x08\0\0\0\0\0".to_vec(),
        xmp_packet: "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>".to_string(),
        iptc_resources: Vec::new(),
    };
    let icc: &[u8] = if size[3] & 16 == 0 { b"icc" } else { b"" };
    if let Ok(rewrapped) = webp_with_metadata(file, (width, height), icc, &blocks) {
        let declared = u32::from_le_bytes([rewrapped[4], rewrapped[5], rewrapped[6], rewrapped[7]]);
        assert_eq!(declared as usize + 8, rewrapped.len(), "RIFF size");
    }
});
