//! Adds metadata segments to an already-encoded JPEG, for encoders that cannot
//! write markers themselves and for tests; splits an ICC profile into APP2 segments.

use super::{MetadataError, EXIF_HEADER, MAX_SEGMENT_PAYLOAD, PHOTOSHOP_HEADER, XMP_HEADER};

const SOI: u8 = 0xd8;
const SOS: u8 = 0xda;
const EOI: u8 = 0xd9;
const APP0: u8 = 0xe0;
const APP1: u8 = 0xe1;
const APP13: u8 = 0xed;

/// `jpeg` with `segments` (`(n, payload)` for APPn, as [`super::jpeg_segments`]
/// returns them) placed right after SOI, or after the JFIF APP0 when the file starts
/// with one. Existing EXIF, XMP and Photoshop/IPTC segments are removed so the result
/// never holds two of a kind; every other segment and the entropy-coded data are
/// copied unchanged.
pub fn insert_segments_into_jpeg(
    jpeg: &[u8],
    segments: &[(u8, Vec<u8>)],
) -> Result<Vec<u8>, MetadataError> {
    let malformed = |offset, reason| MetadataError::MalformedJpeg { offset, reason };
    if jpeg.len() < 4 || jpeg[0] != 0xff || jpeg[1] != SOI {
        return Err(malformed(0, "does not start with SOI (FF D8)"));
    }
    let mut encoded_segments = Vec::new();
    for (app, payload) in segments {
        if *app > 15 {
            return Err(MetadataError::InvalidAppMarker(*app));
        }
        if payload.len() > MAX_SEGMENT_PAYLOAD {
            return Err(MetadataError::TooLarge {
                segment: "APP",
                bytes: payload.len(),
                limit: MAX_SEGMENT_PAYLOAD,
            });
        }
        encoded_segments.extend_from_slice(&[0xff, APP0 + app]);
        let length = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
        encoded_segments.extend_from_slice(&length.to_be_bytes());
        encoded_segments.extend_from_slice(payload);
    }

    let mut output = Vec::with_capacity(jpeg.len() + encoded_segments.len());
    output.extend_from_slice(&jpeg[..2]);
    let mut inserted = false;
    let mut position = 2;
    loop {
        if position + 1 >= jpeg.len() || jpeg[position] != 0xff {
            return Err(malformed(
                position,
                "expected a marker before the scan data",
            ));
        }
        // Fill bytes (extra 0xFF) may precede a marker.
        let mut marker_at = position + 1;
        while marker_at < jpeg.len() && jpeg[marker_at] == 0xff {
            marker_at += 1;
        }
        let Some(&marker) = jpeg.get(marker_at) else {
            return Err(malformed(position, "file ends inside a marker"));
        };
        if marker == 0x01 || (0xd0..=0xd7).contains(&marker) {
            // TEM and RSTn stand alone, without a length.
            output.extend_from_slice(&jpeg[position..=marker_at]);
            position = marker_at + 1;
            continue;
        }
        if marker == SOS || marker == EOI {
            if !inserted {
                output.extend_from_slice(&encoded_segments);
            }
            output.extend_from_slice(&jpeg[position..]);
            return Ok(output);
        }
        let length_at = marker_at + 1;
        let Some(length_bytes) = jpeg.get(length_at..length_at + 2) else {
            return Err(malformed(length_at, "file ends inside a segment length"));
        };
        let length = usize::from(u16::from_be_bytes([length_bytes[0], length_bytes[1]]));
        if length < 2 || length_at + length > jpeg.len() {
            return Err(malformed(
                length_at,
                "segment length runs past the end of the file",
            ));
        }
        let segment_end = length_at + length;
        let payload = &jpeg[length_at + 2..segment_end];

        let is_jfif = marker == APP0 && payload.starts_with(b"JFIF\0");
        if !inserted && !is_jfif {
            output.extend_from_slice(&encoded_segments);
            inserted = true;
        }
        let replaced = (marker == APP1
            && (payload.starts_with(EXIF_HEADER) || payload.starts_with(XMP_HEADER)))
            || (marker == APP13 && payload.starts_with(PHOTOSHOP_HEADER));
        if !replaced {
            output.extend_from_slice(&jpeg[position..segment_end]);
        }
        if is_jfif && !inserted {
            output.extend_from_slice(&encoded_segments);
            inserted = true;
        }
        position = segment_end;
    }
}

/// APP marker number of the ICC profile segments.
pub const APP2: u8 = 2;
/// Identifier that starts each APP2 chunk of an ICC profile (ICC.1 Annex B).
pub const ICC_HEADER: &[u8] = b"ICC_PROFILE\0";

/// `profile` as APP2 `ICC_PROFILE` segments (`(2, payload)`), split into numbered chunks when it
/// does not fit one segment. An empty profile gives no segment.
pub fn icc_segments(profile: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let chunk_size = MAX_SEGMENT_PAYLOAD - ICC_HEADER.len() - 2;
    let chunks: Vec<&[u8]> = profile.chunks(chunk_size).collect();
    // ICC.1 numbers chunks with one byte: at most 255 (about 16 MB), far beyond any real profile.
    let count = u8::try_from(chunks.len()).unwrap_or(u8::MAX);
    chunks
        .iter()
        .take(usize::from(count))
        .enumerate()
        .map(|(index, chunk)| {
            let mut payload = Vec::with_capacity(ICC_HEADER.len() + 2 + chunk.len());
            payload.extend_from_slice(ICC_HEADER);
            payload.extend_from_slice(&[index as u8 + 1, count]);
            payload.extend_from_slice(chunk);
            (APP2, payload)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icc_profile_is_split_into_numbered_chunks() {
        let small = icc_segments(b"tiny profile");
        assert_eq!(small.len(), 1);
        assert_eq!(small[0].0, APP2);
        assert_eq!(&small[0].1[..14], b"ICC_PROFILE\0\x01\x01");
        let big = vec![7u8; 150_000];
        let segments = icc_segments(&big);
        assert_eq!(segments.len(), 3);
        assert!(segments.iter().all(|(_, p)| p.len() <= MAX_SEGMENT_PAYLOAD));
        assert_eq!(&segments[2].1[12..14], &[3, 3]);
        let rejoined: Vec<u8> = segments
            .iter()
            .flat_map(|(_, p)| p[14..].to_vec())
            .collect();
        assert_eq!(rejoined, big);
        assert!(icc_segments(&[]).is_empty());
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xff, marker];
        bytes.extend_from_slice(
            &u16::try_from(payload.len() + 2)
                .expect("small")
                .to_be_bytes(),
        );
        bytes.extend_from_slice(payload);
        bytes
    }

    fn tiny_jpeg(head: &[Vec<u8>]) -> Vec<u8> {
        let mut jpeg = vec![0xff, SOI];
        for segment in head {
            jpeg.extend_from_slice(segment);
        }
        jpeg.extend_from_slice(&segment(0xdb, &[0; 65])); // DQT
        jpeg.extend_from_slice(&segment(SOS, &[1, 2, 3]));
        jpeg.extend_from_slice(&[0x12, 0xff, 0x00, 0x34, 0xff, EOI]);
        jpeg
    }

    #[test]
    fn inserts_after_jfif_and_replaces_old_exif() {
        let jfif = segment(APP0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let old_exif = segment(APP1, b"Exif\0\0old");
        let icc = segment(0xe2, b"ICC_PROFILE\0...");
        let jpeg = tiny_jpeg(&[jfif.clone(), old_exif, icc.clone()]);
        let new = vec![
            (1u8, b"Exif\0\0new".to_vec()),
            (13u8, b"Photoshop 3.0\0x".to_vec()),
        ];
        let output = insert_segments_into_jpeg(&jpeg, &new).expect("inserted");

        let mut expected = vec![0xff, SOI];
        expected.extend_from_slice(&jfif);
        expected.extend_from_slice(&segment(APP1, b"Exif\0\0new"));
        expected.extend_from_slice(&segment(APP13, b"Photoshop 3.0\0x"));
        expected.extend_from_slice(&icc);
        expected.extend_from_slice(&tiny_jpeg(&[])[2..]);
        assert_eq!(output, expected);
    }

    #[test]
    fn inserts_right_after_soi_without_jfif() {
        let jpeg = tiny_jpeg(&[]);
        let output = insert_segments_into_jpeg(&jpeg, &[(1, b"Exif\0\0x".to_vec())]).expect("ok");
        assert_eq!(&output[..4], &[0xff, SOI, 0xff, APP1]);
        assert_eq!(&output[output.len() - jpeg.len() + 2..], &jpeg[2..]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            insert_segments_into_jpeg(b"\x89PNG....", &[]),
            Err(MetadataError::MalformedJpeg { offset: 0, .. })
        ));
        let truncated = [0xff, SOI, 0xff, APP0, 0x00, 0x40, 1, 2];
        assert!(matches!(
            insert_segments_into_jpeg(&truncated, &[]),
            Err(MetadataError::MalformedJpeg { .. })
        ));
        assert!(matches!(
            insert_segments_into_jpeg(&tiny_jpeg(&[]), &[(16, vec![])]),
            Err(MetadataError::InvalidAppMarker(16))
        ));
        assert!(matches!(
            insert_segments_into_jpeg(&tiny_jpeg(&[]), &[(1, vec![0; MAX_SEGMENT_PAYLOAD + 1])]),
            Err(MetadataError::TooLarge { .. })
        ));
    }
}
