//! The AVIF box rewriting that adds an XMP item to an encoder's file (metadata/avif.rs).
#![no_main]

use headshot::metadata::avif_with_xmp;
use libfuzzer_sys::fuzz_target;

const XMP: &[u8] = b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'/><?xpacket end='w'?>";

fuzz_target!(|data: &[u8]| {
    if let Ok(rewritten) = avif_with_xmp(data, XMP) {
        // Its own output must read back as a well-formed file that now has XMP.
        let again = avif_with_xmp(&rewritten, XMP).map_err(|e| e.to_string());
        assert_eq!(
            again.err().as_deref(),
            Some("not a still AVIF the XMP can be added to: file already has an XMP item")
        );
    }
});
