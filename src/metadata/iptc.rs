//! IPTC-IIM datasets inside Photoshop image resources (APP13): the record itself
//! (resource 0x0404) and its MD5 digest (resource 0x0425), which tells Photoshop,
//! exiftool and other MWG readers that the IIM and XMP values are in sync.

use md5::{Digest, Md5};

use super::{clean_text, OutputMetadata};

/// Photoshop resource holding the IPTC-IIM record.
const RESOURCE_IPTC: u16 = 0x0404;
/// Photoshop resource holding the MD5 of the IPTC-IIM record.
const RESOURCE_IPTC_DIGEST: u16 = 0x0425;

/// Byte limits of the IIM 4.2 datasets written here. UTF-8 text is cut at a
/// character boundary at or below the limit, as IIM counts octets.
pub(super) const OBJECT_NAME_MAX: usize = 64;
pub(super) const KEYWORD_MAX: usize = 64;
pub(super) const BY_LINE_MAX: usize = 32;
pub(super) const COPYRIGHT_MAX: usize = 128;
pub(super) const CAPTION_MAX: usize = 2000;

/// The Photoshop image resources (without the "Photoshop 3.0\0" identifier):
/// the IPTC record, then its digest.
pub(super) fn photoshop_resources(meta: &OutputMetadata) -> Vec<u8> {
    let record = iim_record(meta);
    let mut resources = Vec::with_capacity(record.len() + 64);
    push_resource(&mut resources, RESOURCE_IPTC, &record);
    push_resource(&mut resources, RESOURCE_IPTC_DIGEST, &Md5::digest(&record));
    resources
}

/// The IIM datasets, in record and dataset-number order as IIM requires.
pub(super) fn iim_record(meta: &OutputMetadata) -> Vec<u8> {
    let mut record = Vec::new();
    // 1:00 Envelope Record Version 4, 1:90 Coded Character Set = ESC % G (UTF-8).
    push_dataset(&mut record, 1, 0, &4u16.to_be_bytes());
    push_dataset(&mut record, 1, 90, b"\x1b%G");
    // 2:00 Application Record Version 4.
    push_dataset(&mut record, 2, 0, &4u16.to_be_bytes());
    if let Some(title) = &meta.title {
        push_text(&mut record, 5, title, OBJECT_NAME_MAX);
    }
    for keyword in &meta.keywords {
        push_text(&mut record, 25, keyword, KEYWORD_MAX);
    }
    if let Some(capture_time) = &meta.capture_time {
        // 2:55 Date Created CCYYMMDD.
        let date = capture_time.local.strftime("%Y%m%d").to_string();
        push_dataset(&mut record, 2, 55, date.as_bytes());
        // 2:60 Time Created HHMMSS±HHMM; IIM requires the zone, so only when known.
        if let Some(offset) = capture_time.exif_offset() {
            let time = capture_time.local.strftime("%H%M%S");
            let zone = offset.replace(':', "");
            push_dataset(&mut record, 2, 60, format!("{time}{zone}").as_bytes());
        }
    }
    if let Some(creator) = &meta.creator {
        push_text(&mut record, 80, creator, BY_LINE_MAX);
    }
    if let Some(rights) = &meta.rights {
        push_text(&mut record, 116, rights, COPYRIGHT_MAX);
    }
    if let Some(caption) = &meta.caption {
        push_text(&mut record, 120, caption, CAPTION_MAX);
    }
    record
}

fn push_text(record: &mut Vec<u8>, dataset: u8, text: &str, max_bytes: usize) {
    let text = clean_text(text);
    push_dataset(
        record,
        2,
        dataset,
        truncate_at_char(&text, max_bytes).as_bytes(),
    );
}

/// The longest prefix of `text` that is at most `max_bytes` long and ends on a
/// character boundary.
pub(super) fn truncate_at_char(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A standard dataset: tag marker 0x1C, record, dataset number, 2-byte length.
/// Every value written here is at most a few KB, well under the 32767-byte
/// standard-length limit.
fn push_dataset(record: &mut Vec<u8>, record_number: u8, dataset: u8, data: &[u8]) {
    let length = u16::try_from(data.len()).unwrap_or(u16::MAX).min(0x7fff);
    record.extend_from_slice(&[0x1c, record_number, dataset]);
    record.extend_from_slice(&length.to_be_bytes());
    record.extend_from_slice(&data[..usize::from(length)]);
}

/// One Photoshop image resource: "8BIM", id, empty Pascal name padded to even
/// length, 4-byte size, data padded to even length.
fn push_resource(resources: &mut Vec<u8>, id: u16, data: &[u8]) {
    resources.extend_from_slice(b"8BIM");
    resources.extend_from_slice(&id.to_be_bytes());
    resources.extend_from_slice(&[0, 0]);
    let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
    resources.extend_from_slice(&size.to_be_bytes());
    resources.extend_from_slice(data);
    if data.len() % 2 == 1 {
        resources.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (record, dataset, value) triples parsed back from a record.
    fn datasets(record: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
        let mut parsed = Vec::new();
        let mut rest = record;
        while !rest.is_empty() {
            assert_eq!(rest[0], 0x1c);
            let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            parsed.push((rest[1], rest[2], rest[5..5 + length].to_vec()));
            rest = &rest[5 + length..];
        }
        parsed
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_at_char("abc", 5), "abc");
        assert_eq!(truncate_at_char("abcdef", 3), "abc");
        // "é" is 2 bytes: cutting at 2 would split it.
        assert_eq!(truncate_at_char("aé", 2), "a");
        // "李" is 3 bytes.
        assert_eq!(truncate_at_char("李小龍", 7), "李小");
        assert_eq!(truncate_at_char("李小龍", 2), "");
    }

    #[test]
    fn fields_are_cut_to_iim_limits() {
        let mut meta = OutputMetadata::new(1, 1);
        meta.title = Some("é".repeat(40)); // 80 bytes
        meta.creator = Some("Jolicoeur-Fidelia Photographie Associés".into());
        meta.caption = Some("李".repeat(700)); // 2100 bytes
        meta.keywords = vec!["k".repeat(70), "short".into()];
        let parsed = datasets(&iim_record(&meta));
        let value = |dataset: u8| -> Vec<Vec<u8>> {
            parsed
                .iter()
                .filter(|(record, number, _)| *record == 2 && *number == dataset)
                .map(|(_, _, value)| value.clone())
                .collect()
        };
        assert_eq!(value(5), [("é".repeat(32)).into_bytes()]);
        assert_eq!(value(80)[0].len(), 32);
        assert!(std::str::from_utf8(&value(80)[0]).is_ok());
        assert_eq!(value(120), [("李".repeat(666)).into_bytes()]);
        assert_eq!(value(25), [b"k".repeat(64), b"short".to_vec()]);
    }

    #[test]
    fn record_declares_utf8_and_is_ordered() {
        let mut meta = OutputMetadata::new(1, 1);
        meta.title = Some("Seán O'Brien".into());
        meta.rights = Some("© 2024".into());
        meta.capture_time = Some(
            crate::metadata::CaptureTime::from_exif("2024:05:17 14:03:22", None, Some("-05:30"))
                .expect("valid"),
        );
        let parsed = datasets(&iim_record(&meta));
        let keys: Vec<(u8, u8)> = parsed.iter().map(|(r, d, _)| (*r, *d)).collect();
        assert_eq!(
            keys,
            [(1, 0), (1, 90), (2, 0), (2, 5), (2, 55), (2, 60), (2, 116)]
        );
        assert_eq!(parsed[1].2, b"\x1b%G");
        assert_eq!(parsed[4].2, b"20240517");
        assert_eq!(parsed[5].2, b"140322-0530");
    }

    #[test]
    fn resources_carry_record_and_its_digest() {
        let mut meta = OutputMetadata::new(1, 1);
        meta.title = Some("x".into()); // odd-length record exercises padding
        let record = iim_record(&meta);
        let resources = photoshop_resources(&meta);
        assert_eq!(&resources[..6], b"8BIM\x04\x04");
        let size = u32::from_be_bytes([resources[8], resources[9], resources[10], resources[11]]);
        assert_eq!(size as usize, record.len());
        let digest_at = 12 + record.len() + record.len() % 2;
        assert_eq!(&resources[digest_at..digest_at + 6], b"8BIM\x04\x25");
        assert_eq!(
            &resources[digest_at + 12..],
            Md5::digest(&record).as_slice()
        );
    }
}
