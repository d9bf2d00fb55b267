//! Metadata in WebP: rewraps an encoder's simple-format file (`RIFF/WEBP/VP8 `) in the
//! extended format, a `VP8X` header followed by `ICCP`, the image chunks, `EXIF` and
//! `XMP ` chunks, in the order the WebP container specification requires.

use super::{MetadataBlocks, MetadataError};

const VP8X_ICC: u8 = 0x20;
const VP8X_ALPHA: u8 = 0x10;
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;
/// VP8X stores canvas sides minus one in 24 bits.
const MAX_CANVAS_SIDE: u32 = 1 << 24;

/// `encoded` (a WebP file of `width` x `height` pixels, as libwebp writes it) with `icc_profile`
/// and the EXIF and XMP of `blocks` embedded. IPTC-IIM has no place in WebP; its fields travel in
/// the XMP packet, as in every WebP writer. An empty `icc_profile` embeds no profile.
pub fn webp_with_metadata(
    encoded: &[u8],
    (width, height): (u32, u32),
    icc_profile: &[u8],
    blocks: &MetadataBlocks,
) -> Result<Vec<u8>, MetadataError> {
    let image_chunks = image_chunks(encoded)?;
    if width == 0 || height == 0 || width > MAX_CANVAS_SIDE || height > MAX_CANVAS_SIDE {
        return Err(MetadataError::MalformedWebp("canvas size out of range"));
    }
    let has_alpha = image_chunks.iter().any(|(fourcc, _)| fourcc == b"ALPH");
    let mut flags = VP8X_EXIF | VP8X_XMP;
    if !icc_profile.is_empty() {
        flags |= VP8X_ICC;
    }
    if has_alpha {
        flags |= VP8X_ALPHA;
    }
    let mut header = vec![flags, 0, 0, 0];
    header.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    header.extend_from_slice(&(height - 1).to_le_bytes()[..3]);

    let mut body = Vec::with_capacity(encoded.len() + blocks.exif_tiff.len() + 8192);
    body.extend_from_slice(b"WEBP");
    push_chunk(&mut body, b"VP8X", &header);
    if !icc_profile.is_empty() {
        push_chunk(&mut body, b"ICCP", icc_profile);
    }
    for (fourcc, payload) in &image_chunks {
        push_chunk(&mut body, fourcc, payload);
    }
    push_chunk(&mut body, b"EXIF", &blocks.exif_tiff);
    push_chunk(&mut body, b"XMP ", blocks.xmp_packet.as_bytes());

    let riff_size =
        u32::try_from(body.len()).map_err(|_| MetadataError::MalformedWebp("file over 4 GiB"))?;
    let mut file = Vec::with_capacity(body.len() + 8);
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&riff_size.to_le_bytes());
    file.extend_from_slice(&body);
    Ok(file)
}

/// A chunk's FourCC and payload.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The `ALPH`, `VP8 ` and `VP8L` chunks of a still WebP, in file order.
fn image_chunks(encoded: &[u8]) -> Result<Vec<Chunk<'_>>, MetadataError> {
    if encoded.len() < 12 || &encoded[..4] != b"RIFF" || &encoded[8..12] != b"WEBP" {
        return Err(MetadataError::MalformedWebp("no RIFF/WEBP header"));
    }
    let mut chunks = Vec::new();
    let mut position = 12;
    while position + 8 <= encoded.len() {
        let fourcc: [u8; 4] = encoded[position..position + 4].try_into().expect("4 bytes");
        let size = u32::from_le_bytes(
            encoded[position + 4..position + 8]
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        let start = position + 8;
        let end = start
            .checked_add(size)
            .filter(|&end| end <= encoded.len())
            .ok_or(MetadataError::MalformedWebp("chunk runs past the end"))?;
        if matches!(&fourcc, b"ALPH" | b"VP8 " | b"VP8L") {
            chunks.push((fourcc, &encoded[start..end]));
        } else if &fourcc == b"ANIM" {
            return Err(MetadataError::MalformedWebp("animated WebP"));
        }
        // Chunks are padded to an even size.
        position = end + (size & 1);
    }
    if !chunks
        .iter()
        .any(|(fourcc, _)| fourcc == b"VP8 " || fourcc == b"VP8L")
    {
        return Err(MetadataError::MalformedWebp("no VP8/VP8L image chunk"));
    }
    Ok(chunks)
}

fn push_chunk(body: &mut Vec<u8>, fourcc: &[u8; 4], payload: &[u8]) {
    body.extend_from_slice(fourcc);
    body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    body.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        body.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple_webp(image_payload: &[u8]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        push_chunk(&mut body, b"VP8 ", image_payload);
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        file
    }

    fn chunk_list(file: &[u8]) -> Vec<(String, usize)> {
        let mut list = Vec::new();
        let mut position = 12;
        while position + 8 <= file.len() {
            let size = u32::from_le_bytes(file[position + 4..position + 8].try_into().unwrap());
            list.push((
                String::from_utf8_lossy(&file[position..position + 4]).into_owned(),
                size as usize,
            ));
            position += 8 + size as usize + (size as usize & 1);
        }
        assert_eq!(position, file.len(), "chunks must tile the file exactly");
        list
    }

    #[test]
    fn extended_file_has_chunks_in_spec_order_with_padding_and_sizes() {
        let blocks = MetadataBlocks {
            exif_tiff: b"II*\0odd".to_vec(),
            xmp_packet: "<x:xmpmeta/>".to_string(),
            iptc_resources: Vec::new(),
        };
        let file =
            webp_with_metadata(&simple_webp(b"vp8 data"), (640, 480), b"icc", &blocks).unwrap();
        assert_eq!(
            u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize,
            file.len() - 8
        );
        let names: Vec<String> = chunk_list(&file)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["VP8X", "ICCP", "VP8 ", "EXIF", "XMP "]);
        let header = &file[20..30];
        assert_eq!(header[0], VP8X_ICC | VP8X_EXIF | VP8X_XMP);
        assert_eq!(&header[4..7], &639u32.to_le_bytes()[..3]);
        assert_eq!(&header[7..10], &479u32.to_le_bytes()[..3]);
    }

    #[test]
    fn rejects_what_is_not_a_still_webp() {
        let blocks = MetadataBlocks {
            exif_tiff: Vec::new(),
            xmp_packet: String::new(),
            iptc_resources: Vec::new(),
        };
        for bad in [
            &b"RIFF\0\0\0\0WEBX"[..],
            b"RIFF\x08\0\0\0WEBPVP8 \xff\0\0\0",
        ] {
            assert!(webp_with_metadata(bad, (1, 1), b"", &blocks).is_err());
        }
        let mut no_image = b"RIFF\x0c\0\0\0WEBP".to_vec();
        push_chunk(&mut no_image, b"XMP ", b"x");
        assert!(webp_with_metadata(&no_image, (1, 1), b"", &blocks).is_err());
    }
}
