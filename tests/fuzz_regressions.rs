//! Hostile inputs for the parsers that read bytes a user or a camera supplies: what the fuzz
//! targets (`fuzz/`) found, minimised, and the length fields a review of the hand-written
//! parsers (AVIF boxes, WebP chunks) checked. Each must give a clear error, never a panic, a
//! huge allocation or a file whose sizes do not add up.

mod common;

use headshot::encode::{encode_staged, Chroma, Effort, EncodeSettings, OutputFormat};
use headshot::metadata::{avif_with_exif, avif_with_xmp, webp_with_metadata, MetadataBlocks};

const XMP: &[u8] = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>";

fn staged(format: OutputFormat) -> Vec<u8> {
    let settings = EncodeSettings {
        format,
        quality: 60,
        chroma: Chroma::Quarter,
        progressive: false,
        effort: Effort::Fast,
    };
    encode_staged(&common::test_picture(24, 16), &settings).expect("encodes")
}

fn blocks() -> MetadataBlocks {
    MetadataBlocks {
        exif_tiff: b"II*\0\x08\0\0\0\0\0".to_vec(),
        xmp_packet: String::from_utf8(XMP.to_vec()).expect("UTF-8"),
        iptc_resources: Vec::new(),
    }
}

/// Offset of the only box of type `fourcc` (its size field), found by its type bytes.
fn box_at(file: &[u8], fourcc: &[u8; 4]) -> usize {
    let found: Vec<usize> = file
        .windows(4)
        .enumerate()
        .filter(|(_, window)| window == fourcc)
        .map(|(index, _)| index - 4)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {:?} box",
        String::from_utf8_lossy(fourcc)
    );
    found[0]
}

fn with_u32_at(file: &[u8], offset: usize, value: u32) -> Vec<u8> {
    let mut edited = file.to_vec();
    edited[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    edited
}

fn avif_error(file: &[u8]) -> String {
    match avif_with_xmp(file, XMP) {
        Ok(_) => panic!("a hostile AVIF was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn avif_sizes_from_the_file_are_checked_before_use() {
    let avif = staged(OutputFormat::Avif);
    assert!(avif_with_xmp(&avif, XMP).is_ok(), "the encoder's own file");
    let mdat = box_at(&avif, b"mdat");
    // A box claiming 4 GiB, and one claiming 2^64 bytes through its 64-bit size.
    let huge = with_u32_at(&avif, mdat, u32::MAX);
    assert!(avif_error(&huge).contains("runs past the end"));
    let mut largest = with_u32_at(&avif, mdat, 1);
    largest.splice(mdat + 8..mdat + 8, u64::MAX.to_be_bytes());
    assert!(avif_error(&largest).contains("runs past the end"));
    // A box smaller than its own header.
    let tiny = with_u32_at(&avif, mdat, 3);
    assert!(avif_error(&tiny).contains("smaller than its header"));
}

#[test]
fn avif_item_counts_from_the_file_allocate_nothing_up_front() {
    let avif = staged(OutputFormat::Avif);
    let iloc = box_at(&avif, b"iloc");
    let version = avif[iloc + 8];
    // Version, flags and the two bytes of field sizes, then the item count.
    let count_at = iloc + 14;
    let edited = if version < 2 {
        let mut edited = avif.clone();
        edited[count_at..count_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
        edited
    } else {
        with_u32_at(&avif, count_at, u32::MAX)
    };
    let started = std::time::Instant::now();
    let error = avif_error(&edited);
    assert!(
        error.contains("truncated") || error.contains("trailing"),
        "{error}"
    );
    assert!(started.elapsed().as_secs() < 2, "refused at once");
}

#[test]
fn avif_every_truncation_is_refused_and_exif_too() {
    let avif = staged(OutputFormat::Avif);
    for len in 0..avif.len() {
        assert!(avif_with_xmp(&avif[..len], XMP).is_err(), "cut at {len}");
        assert!(
            avif_with_exif(&avif[..len], b"II*\0").is_err(),
            "cut at {len}"
        );
    }
}

fn riff_size_adds_up(file: &[u8]) {
    let declared = u32::from_le_bytes(file[4..8].try_into().expect("4 bytes"));
    assert_eq!(declared as usize + 8, file.len(), "RIFF size");
}

#[test]
fn webp_chunk_sizes_from_the_file_are_checked_before_use() {
    let webp = staged(OutputFormat::Webp);
    riff_size_adds_up(&webp_with_metadata(&webp, (24, 16), b"icc", &blocks()).expect("rewraps"));
    // The image chunk's size field (little-endian) right after `RIFF size WEBP fourcc`.
    for size in [u32::MAX, u32::MAX - 7, webp.len() as u32] {
        let mut edited = webp.clone();
        edited[16..20].copy_from_slice(&size.to_le_bytes());
        let error = webp_with_metadata(&edited, (24, 16), b"", &blocks())
            .expect_err("a chunk running past the end is refused")
            .to_string();
        assert!(error.contains("chunk runs past the end"), "{error}");
    }
}

#[test]
fn webp_every_truncation_is_refused_or_adds_up() {
    let webp = staged(OutputFormat::Webp);
    for len in 0..webp.len() {
        // Cut inside the image chunk: refused. Cut in a trailing pad byte: still whole.
        if let Ok(file) = webp_with_metadata(&webp[..len], (24, 16), b"", &blocks()) {
            riff_size_adds_up(&file);
        }
    }
    for (width, height) in [(0, 16), (24, 0), (1 << 24 | 1, 16)] {
        assert!(webp_with_metadata(&webp, (width, height), b"", &blocks()).is_err());
    }
}

#[path = "../fuzz/fuzz_targets/slate_image.rs"]
mod slate_image;

/// The slate fuzz target's image of a saved input.
fn fuzz_slate_image(data: &[u8]) -> image::RgbImage {
    slate_image::slate_image(data).expect("a saved input has at least 3 bytes")
}

fn fuzz_input(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// An 80x95 image whose capstones give a near-degenerate perspective: rqrr's alignment-pattern
/// spiral, bounded only by a size estimate from that perspective, took 2.7 s on it (rqrr is
/// patched in vendor/rqrr, see HEADSHOT-PATCH.md). Counted in steps, not timed: 3,194 with the
/// bound of 3 capstone widths; the image's size alone would allow about 350^2 per group of
/// capstones, and the unbounded search took on the order of 10^8.
#[test]
fn a_degenerate_qr_perspective_keeps_the_alignment_search_short() {
    let image = fuzz_slate_image(&fuzz_input("slate-alignment-spiral.bin"));
    assert_eq!(image.dimensions(), (80, 95));
    let before = rqrr::alignment_search_steps();
    let read = headshot::names::read_slate(&image);
    let steps = rqrr::alignment_search_steps() - before;
    assert_eq!(read, None, "noise holds no QR code");
    assert!(
        steps > 0,
        "the input no longer reaches the alignment search"
    );
    assert!(steps < 20_000, "the alignment search took {steps} steps");
}

/// rqrr asserts that a point mapped through a capstone's perspective fits in an i32; on
/// degenerate perspectives that assert fires. read_slate catches it: the frame reads as
/// holding no code, and the run goes on.
#[test]
fn rqrr_assertions_on_degenerate_perspectives_read_as_no_code() {
    for name in ["slate-rqrr-assert-x.bin", "slate-rqrr-assert-y.bin"] {
        let image = fuzz_slate_image(&fuzz_input(name));
        assert_eq!(headshot::names::read_slate(&image), None, "{name}");
    }
}
