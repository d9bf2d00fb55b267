//! XMP in AVIF: adds an XMP packet to an already-encoded still AVIF (HEIF / ISO-BMFF) as a
//! metadata item, the way libavif and exiftool store it: an `infe` of type `mime` with content
//! type `application/rdf+xml`, an `iloc` entry pointing at the packet and an `iref` `cdsc`
//! ("content describes") reference from the new item to the primary item. avif-serialize (used
//! by ravif) can embed Exif but not XMP, so its output is rewritten afterwards.
//!
//! The result keeps the top-level boxes in their order. `meta` is rebuilt: only `iloc`, `iinf`
//! and `iref` change (`iref` is created after `iinf` when absent), every other child is copied
//! byte for byte. The packet goes into a new `mdat` box appended at the end of the file rather
//! than into the existing `mdat`: that leaves every byte after `meta` where it was, so the only
//! thing to fix is the file offsets in `iloc`, each moved by exactly the number of bytes `meta`
//! grew.
//!
//! Handled: top-level `ftyp` (first, with brand `avif` or `mif1`), one `meta`, any number of
//! `mdat`, `free`, `skip` and `uuid` boxes, in any order, with 32-bit, 64-bit (`largesize`) or
//! 0 ("to the end of the file") sizes; a box of size 0 gets its explicit size, as it no longer
//! ends the file. `iloc` versions 0, 1 and 2 with offset, length, base-offset and index sizes of
//! 0, 4 or 8 bytes, construction method 0 (file offsets, moved when the data lies after `meta`)
//! and 1 (`idat` offsets, which do not move). `iinf` versions 0 and 1, `infe` versions 0 to 3,
//! `iref` versions 0 and 1, `pitm` versions 0 and 1, item ids counted in `grpl` too.
//!
//! Rejected with an error: anything truncated or inconsistent, other top-level boxes (`moov`
//! image sequences, fragments), a `meta` without `hdlr` `pict`, `pitm`, `iloc` or `iinf`,
//! duplicated structural boxes, construction method 2, data in other files
//! (`data_reference_index` other than 0), extents of length 0 ("the rest of the file") or
//! overlapping `meta`, offsets that no longer fit their `iloc` field once moved, an `iloc`
//! without a length field or any offset field for the new item, ids too wide for the box
//! versions in the file, and a file that already has an XMP item.

/// Why a file was refused.
type Reason = &'static str;

/// What libavif and exiftool give XMP items as content type; readers look for it.
const XMP_CONTENT_TYPE: &[u8] = b"application/rdf+xml";
/// libavif's name for its XMP item; informative only.
const XMP_ITEM_NAME: &[u8] = b"XMP";
/// Size and type fields of a box with a 32-bit size.
const COMPACT_HEADER_LEN: usize = 8;

/// `avif` (a still AVIF file as avif-serialize or libavif write it) with `xmp_packet` added as an
/// XMP metadata item (infe item_type 'mime', content_type "application/rdf+xml") describing the
/// primary item (iref 'cdsc'). Errors on anything it does not understand rather than writing a
/// broken file.
pub fn avif_with_xmp(avif: &[u8], xmp_packet: &[u8]) -> Result<Vec<u8>, &'static str> {
    if xmp_packet.is_empty() {
        return Err("empty XMP packet");
    }
    avif_with_item(avif, ItemKind::Xmp, xmp_packet)
}

/// `avif` with `exif_tiff` (a TIFF-structured EXIF block) added as an `Exif` item describing the
/// primary item, as avif-serialize and libavif write it (a 4-byte offset to the TIFF header, 0,
/// then the block).
pub fn avif_with_exif(avif: &[u8], exif_tiff: &[u8]) -> Result<Vec<u8>, &'static str> {
    if exif_tiff.is_empty() {
        return Err("empty EXIF block");
    }
    let mut payload = Vec::with_capacity(exif_tiff.len() + 4);
    payload.extend_from_slice(&0u32.to_be_bytes());
    payload.extend_from_slice(exif_tiff);
    avif_with_item(avif, ItemKind::Exif, &payload)
}

/// The metadata items this module adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Xmp,
    Exif,
}

fn avif_with_item(avif: &[u8], kind: ItemKind, payload: &[u8]) -> Result<Vec<u8>, &'static str> {
    let boxes = parse_boxes(avif, true)?;
    let meta = check_top_level(avif, &boxes)?;
    let (meta_version_flags, meta_content) = meta
        .body(avif)
        .split_at_checked(4)
        .ok_or("meta box too short")?;
    if meta_version_flags[0] != 0 {
        return Err("unsupported meta box version");
    }
    let parts = MetaParts::parse(meta_content, kind)?;
    let new_id = parts.max_id.checked_add(1).ok_or("no item id left")?;

    // The new meta's size does not depend on the offset values (their field widths are fixed),
    // so a first pass with nothing moved tells how much meta grows, the second writes it.
    let mut placement = Placement {
        meta_start: meta.start as u64,
        meta_end: meta.end as u64,
        file_len: avif.len() as u64,
        growth: 0,
        xmp_offset: 0,
        xmp_len: payload.len() as u64,
        new_id,
        kind,
    };
    let draft = rebuild_meta(meta, meta_version_flags, &parts, &placement)?;
    let old_meta_len = meta.end - meta.start;
    let growth = draft
        .len()
        .checked_sub(old_meta_len)
        .ok_or("meta box would shrink")?;
    let tail = &avif[meta.end..];
    let new_mdat_start = meta.start + draft.len() + tail.len();
    placement.growth = growth as u64;
    placement.xmp_offset = (new_mdat_start + COMPACT_HEADER_LEN) as u64;
    let new_meta = rebuild_meta(meta, meta_version_flags, &parts, &placement)?;
    if new_meta.len() != draft.len() {
        return Err("meta box size changed between layout passes");
    }

    let mut out = Vec::with_capacity(new_mdat_start + COMPACT_HEADER_LEN + payload.len());
    out.extend_from_slice(&avif[..meta.start]);
    out.extend_from_slice(&new_meta);
    for top in boxes.iter().filter(|top| top.start >= meta.end) {
        let start = out.len();
        out.extend_from_slice(top.bytes(avif));
        if top.size_field == SizeField::ToEnd {
            // It is followed by the new mdat now; same 8-byte header, so nothing in it moves.
            let size = u32::try_from(top.end - top.start)
                .map_err(|_| "box of size 0 (to end of file) is over 4 GiB")?;
            out[start..start + 4].copy_from_slice(&size.to_be_bytes());
        }
    }
    push_box(&mut out, b"mdat", false, payload)?;
    Ok(out)
}

/// The only `meta` box, after checking that `boxes` is a still image file this module can edit.
fn check_top_level<'b>(avif: &[u8], boxes: &'b [BoxSpan]) -> Result<&'b BoxSpan, Reason> {
    let ftyp = boxes.first().filter(|first| &first.box_type == b"ftyp");
    check_brands(ftyp.ok_or("not ISO-BMFF: no ftyp box first")?.body(avif))?;
    let mut meta = None;
    for (index, top) in boxes.iter().enumerate() {
        match &top.box_type {
            b"ftyp" if index == 0 => {}
            b"meta" if meta.is_none() => meta = Some(top),
            b"meta" => return Err("two top-level meta boxes"),
            // No file offsets inside these, so they stay valid when moved.
            b"mdat" | b"free" | b"skip" | b"uuid" => {}
            b"moov" => return Err("image sequences (moov box) are not supported"),
            _ => return Err("unsupported top-level box"),
        }
    }
    meta.ok_or("no top-level meta box")
}

fn check_brands(ftyp_body: &[u8]) -> Result<(), Reason> {
    if ftyp_body.len() < 8 || !ftyp_body.len().is_multiple_of(4) {
        return Err("malformed ftyp box");
    }
    // Major brand, then (after the minor version) the compatible brands.
    let mut brands = ftyp_body[..4].chunks(4).chain(ftyp_body[8..].chunks(4));
    if brands.any(|brand| brand == b"avif" || brand == b"mif1") {
        Ok(())
    } else {
        Err("not an AVIF/HEIF file: no avif or mif1 brand")
    }
}

/// Where things are and go, for rewriting `iloc`.
#[derive(Debug, Clone, Copy)]
struct Placement {
    meta_start: u64,
    meta_end: u64,
    file_len: u64,
    /// How many bytes `meta` grows: what data after it moves by.
    growth: u64,
    /// File offset of the packet in the new `mdat`.
    xmp_offset: u64,
    xmp_len: u64,
    new_id: u32,
    kind: ItemKind,
}

/// The children of `meta` this module reads or changes.
struct MetaParts<'a> {
    /// `meta`'s body after its version and flags.
    content: &'a [u8],
    children: Vec<BoxSpan>,
    primary_id: u32,
    iloc: Iloc,
    iinf: Iinf<'a>,
    iref: Option<Iref<'a>>,
    /// Largest item or entity-group id in use (they share one id space).
    max_id: u32,
}

impl<'a> MetaParts<'a> {
    fn parse(content: &'a [u8], adding: ItemKind) -> Result<Self, Reason> {
        let children = parse_boxes(content, false)?;
        let (mut hdlr, mut pitm, mut iloc, mut iinf, mut iref, mut grpl) =
            (None, None, None, None, None, None);
        for child in &children {
            let slot = match &child.box_type {
                b"hdlr" => &mut hdlr,
                b"pitm" => &mut pitm,
                b"iloc" => &mut iloc,
                b"iinf" => &mut iinf,
                b"iref" => &mut iref,
                b"grpl" => &mut grpl,
                _ => continue,
            };
            if slot.replace(child.body(content)).is_some() {
                return Err("meta has two hdlr, pitm, iloc, iinf, iref or grpl boxes");
            }
        }
        check_handler(hdlr.ok_or("meta has no hdlr box")?)?;
        let primary_id = parse_pitm(pitm.ok_or("meta has no pitm box")?)?;
        let iloc = Iloc::parse(iloc.ok_or("meta has no iloc box")?)?;
        let iinf = Iinf::parse(iinf.ok_or("meta has no iinf box")?)?;
        let iref = iref.map(Iref::parse).transpose()?;
        let group_ids = grpl.map(parse_grpl_ids).transpose()?.unwrap_or_default();

        if iinf.kinds.contains(&adding) {
            return Err(match adding {
                ItemKind::Xmp => "file already has an XMP item",
                ItemKind::Exif => "file already has an Exif item",
            });
        }
        if !iinf.item_ids.contains(&primary_id) {
            return Err("primary item (pitm) has no infe entry");
        }
        let max_id = iinf
            .item_ids
            .iter()
            .copied()
            .chain(iloc.items.iter().map(|item| item.id))
            .chain(iref.iter().flat_map(|iref| iref.item_ids.iter().copied()))
            .chain(group_ids)
            .chain([primary_id])
            .max()
            .unwrap_or(primary_id);
        Ok(Self {
            content,
            children,
            primary_id,
            iloc,
            iinf,
            iref,
            max_id,
        })
    }
}

/// `meta` with the XMP item added and `iloc` offsets moved as `placement` says.
fn rebuild_meta(
    meta: &BoxSpan,
    version_flags: &[u8],
    parts: &MetaParts,
    placement: &Placement,
) -> Result<Vec<u8>, Reason> {
    let mut body = version_flags.to_vec();
    for child in &parts.children {
        let large = child.size_field == SizeField::Large;
        match &child.box_type {
            b"iloc" => {
                let mut iloc = parts.iloc.clone();
                iloc.move_file_offsets(placement)?;
                iloc.items.push(iloc.xmp_item(placement)?);
                push_box(&mut body, b"iloc", large, &iloc.write_body()?)?;
            }
            b"iinf" => {
                let infe = item_infe(placement.kind, placement.new_id)?;
                push_box(&mut body, b"iinf", large, &parts.iinf.body_with(&infe)?)?;
                if parts.iref.is_none() {
                    let narrow =
                        placement.new_id <= u16::MAX.into() && parts.primary_id <= u16::MAX.into();
                    let iref = Iref {
                        version: if narrow { 0 } else { 1 },
                        flags: [0; 3],
                        references: &[],
                        item_ids: Vec::new(),
                    };
                    let iref_body = iref.body_with_cdsc(placement.new_id, parts.primary_id)?;
                    push_box(&mut body, b"iref", false, &iref_body)?;
                }
            }
            b"iref" => {
                let iref = parts.iref.as_ref().ok_or("iref box not parsed")?;
                let iref_body = iref.body_with_cdsc(placement.new_id, parts.primary_id)?;
                push_box(&mut body, b"iref", large, &iref_body)?;
            }
            _ => body.extend_from_slice(child.bytes(parts.content)),
        }
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    push_box(
        &mut out,
        b"meta",
        meta.size_field == SizeField::Large,
        &body,
    )?;
    Ok(out)
}

fn check_handler(hdlr_body: &[u8]) -> Result<(), Reason> {
    let mut reader = Reader::new(hdlr_body);
    reader.full_box_header()?;
    reader.u32()?; // pre_defined
    if &reader.array::<4>()? != b"pict" {
        return Err("meta handler is not 'pict' (not an image)");
    }
    Ok(())
}

fn parse_pitm(pitm_body: &[u8]) -> Result<u32, Reason> {
    let mut reader = Reader::new(pitm_body);
    let (version, _) = reader.full_box_header()?;
    if version > 1 {
        return Err("unsupported pitm box version");
    }
    reader.item_id(version == 1)
}

/// Entity-group ids of `grpl`'s EntityToGroup boxes, which must not clash with item ids.
fn parse_grpl_ids(grpl_body: &[u8]) -> Result<Vec<u32>, Reason> {
    let mut ids = Vec::new();
    for group in parse_boxes(grpl_body, false)? {
        let mut reader = Reader::new(group.body(grpl_body));
        reader.full_box_header()?;
        ids.push(reader.u32()?);
        let entity_count = reader.u32()?;
        for _ in 0..entity_count {
            ids.push(reader.u32()?);
        }
    }
    Ok(ids)
}

/// The `infe` box (item info entry) of the new item.
fn item_infe(kind: ItemKind, item_id: u32) -> Result<Vec<u8>, Reason> {
    // Version 2 has 16-bit ids, version 3 32-bit ones.
    let narrow_id = u16::try_from(item_id).ok();
    let mut body = vec![if narrow_id.is_some() { 2 } else { 3 }, 0, 0, 0];
    match narrow_id {
        Some(id) => body.extend_from_slice(&id.to_be_bytes()),
        None => body.extend_from_slice(&item_id.to_be_bytes()),
    }
    body.extend_from_slice(&0u16.to_be_bytes()); // item_protection_index: not protected
    match kind {
        ItemKind::Xmp => {
            body.extend_from_slice(b"mime");
            body.extend_from_slice(XMP_ITEM_NAME);
            body.push(0);
            body.extend_from_slice(XMP_CONTENT_TYPE);
            body.push(0);
        }
        ItemKind::Exif => {
            body.extend_from_slice(b"Exif");
            body.push(0); // no item name
        }
    }
    let mut infe = Vec::with_capacity(body.len() + COMPACT_HEADER_LEN);
    push_box(&mut infe, b"infe", false, &body)?;
    Ok(infe)
}

/// Item information box: the `infe` entries are kept verbatim.
struct Iinf<'a> {
    version: u8,
    flags: [u8; 3],
    entry_count: u32,
    entries: &'a [u8],
    item_ids: Vec<u32>,
    /// The metadata kinds the file already has.
    kinds: Vec<ItemKind>,
}

impl<'a> Iinf<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, Reason> {
        let mut reader = Reader::new(body);
        let (version, flags) = reader.full_box_header()?;
        let entry_count = match version {
            0 => reader.u16()?.into(),
            1 => reader.u32()?,
            _ => return Err("unsupported iinf box version"),
        };
        let entries = reader.rest();
        let mut item_ids = Vec::new();
        let mut kinds = Vec::new();
        for entry in parse_boxes(entries, false)? {
            if &entry.box_type != b"infe" {
                return Err("iinf holds a box other than infe");
            }
            let (item_id, kind) = parse_infe(entry.body(entries))?;
            item_ids.push(item_id);
            kinds.extend(kind);
        }
        if item_ids.len() as u64 != u64::from(entry_count) {
            return Err("iinf entry count does not match its infe boxes");
        }
        Ok(Self {
            version,
            flags,
            entry_count,
            entries,
            item_ids,
            kinds,
        })
    }

    fn body_with(&self, infe: &[u8]) -> Result<Vec<u8>, Reason> {
        let mut body = vec![self.version];
        body.extend_from_slice(&self.flags);
        let count = self
            .entry_count
            .checked_add(1)
            .ok_or("too many items for iinf")?;
        if self.version == 0 {
            let count = u16::try_from(count).map_err(|_| "too many items for iinf version 0")?;
            body.extend_from_slice(&count.to_be_bytes());
        } else {
            body.extend_from_slice(&count.to_be_bytes());
        }
        body.extend_from_slice(self.entries);
        body.extend_from_slice(infe);
        Ok(body)
    }
}

/// Item id of an `infe` box and which metadata item it is, if one this module adds.
fn parse_infe(body: &[u8]) -> Result<(u32, Option<ItemKind>), Reason> {
    let mut reader = Reader::new(body);
    let (version, _) = reader.full_box_header()?;
    if version > 3 {
        return Err("unsupported infe box version");
    }
    let item_id = reader.item_id(version == 3)?;
    if version < 2 {
        // Versions 0 and 1 have no item type, so cannot be a 'mime' item.
        return Ok((item_id, None));
    }
    reader.u16()?; // item_protection_index
    let item_type = reader.array::<4>()?;
    reader.c_string()?; // item_name
    let kind = match &item_type {
        b"Exif" => Some(ItemKind::Exif),
        b"mime" if reader.c_string()? == XMP_CONTENT_TYPE => Some(ItemKind::Xmp),
        _ => None,
    };
    Ok((item_id, kind))
}

/// Item reference box: the existing references are kept verbatim.
struct Iref<'a> {
    version: u8,
    flags: [u8; 3],
    references: &'a [u8],
    item_ids: Vec<u32>,
}

impl<'a> Iref<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, Reason> {
        let mut reader = Reader::new(body);
        let (version, flags) = reader.full_box_header()?;
        if version > 1 {
            return Err("unsupported iref box version");
        }
        let references = reader.rest();
        let mut item_ids = Vec::new();
        for reference in parse_boxes(references, false)? {
            let mut reader = Reader::new(reference.body(references));
            item_ids.push(reader.item_id(version == 1)?); // from_item_ID
            let reference_count = reader.u16()?;
            for _ in 0..reference_count {
                item_ids.push(reader.item_id(version == 1)?);
            }
            if !reader.is_at_end() {
                return Err("iref reference box has trailing bytes");
            }
        }
        Ok(Self {
            version,
            flags,
            references,
            item_ids,
        })
    }

    fn body_with_cdsc(&self, from_id: u32, to_id: u32) -> Result<Vec<u8>, Reason> {
        let mut body = vec![self.version];
        body.extend_from_slice(&self.flags);
        body.extend_from_slice(self.references);
        let mut cdsc = Vec::with_capacity(12);
        put_item_id(&mut cdsc, from_id, self.version == 0)?;
        cdsc.extend_from_slice(&1u16.to_be_bytes()); // reference_count
        put_item_id(&mut cdsc, to_id, self.version == 0)?;
        push_box(&mut body, b"cdsc", false, &cdsc)?;
        Ok(body)
    }
}

fn put_item_id(out: &mut Vec<u8>, id: u32, narrow: bool) -> Result<(), Reason> {
    if narrow {
        let id = u16::try_from(id).map_err(|_| "item id too large for iref version 0")?;
        out.extend_from_slice(&id.to_be_bytes());
    } else {
        out.extend_from_slice(&id.to_be_bytes());
    }
    Ok(())
}

/// Item location box, fully parsed because its offsets change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Iloc {
    version: u8,
    flags: [u8; 3],
    offset_size: u8,
    length_size: u8,
    base_offset_size: u8,
    /// Only in versions 1 and 2.
    index_size: u8,
    items: Vec<IlocItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct IlocItem {
    id: u32,
    /// 0: file offsets, 1: offsets into `idat`, 2: offsets into other items. Version 0: always 0.
    construction_method: u8,
    data_reference_index: u16,
    base_offset: u64,
    extents: Vec<IlocExtent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IlocExtent {
    index: u64,
    offset: u64,
    length: u64,
}

impl Iloc {
    fn parse(body: &[u8]) -> Result<Self, Reason> {
        let mut reader = Reader::new(body);
        let (version, flags) = reader.full_box_header()?;
        if version > 2 {
            return Err("unsupported iloc box version");
        }
        let [sizes, more_sizes] = reader.array::<2>()?;
        let iloc = Self {
            version,
            flags,
            offset_size: sizes >> 4,
            length_size: sizes & 0xF,
            base_offset_size: more_sizes >> 4,
            // Reserved in version 0.
            index_size: if version == 0 { 0 } else { more_sizes & 0xF },
            items: Vec::new(),
        };
        let field_sizes = [
            iloc.offset_size,
            iloc.length_size,
            iloc.base_offset_size,
            iloc.index_size,
        ];
        if field_sizes.iter().any(|size| !matches!(size, 0 | 4 | 8)) {
            return Err("unsupported iloc field size");
        }
        let item_count = if version < 2 {
            reader.u16()?.into()
        } else {
            reader.u32()?
        };
        let mut items = Vec::new();
        for _ in 0..item_count {
            let id = reader.item_id(version == 2)?;
            let construction_method = if version == 0 {
                0
            } else {
                (reader.u16()? & 0xF) as u8
            };
            let data_reference_index = reader.u16()?;
            let base_offset = reader.uint(iloc.base_offset_size)?;
            let extent_count = reader.u16()?;
            let mut extents = Vec::new();
            for _ in 0..extent_count {
                extents.push(IlocExtent {
                    index: reader.uint(iloc.index_size)?,
                    offset: reader.uint(iloc.offset_size)?,
                    length: reader.uint(iloc.length_size)?,
                });
            }
            items.push(IlocItem {
                id,
                construction_method,
                data_reference_index,
                base_offset,
                extents,
            });
        }
        if !reader.is_at_end() {
            return Err("iloc box has trailing bytes");
        }
        Ok(Self { items, ..iloc })
    }

    fn write_body(&self) -> Result<Vec<u8>, Reason> {
        const TOO_LARGE: Reason = "iloc offset or length does not fit its field size";
        let mut body = vec![self.version];
        body.extend_from_slice(&self.flags);
        body.push(self.offset_size << 4 | self.length_size);
        body.push(self.base_offset_size << 4 | self.index_size);
        let item_count = self.items.len();
        if self.version < 2 {
            let count = u16::try_from(item_count).map_err(|_| "too many items for iloc")?;
            body.extend_from_slice(&count.to_be_bytes());
        } else {
            let count = u32::try_from(item_count).map_err(|_| "too many items for iloc")?;
            body.extend_from_slice(&count.to_be_bytes());
        }
        for item in &self.items {
            if self.version < 2 {
                let id = u16::try_from(item.id).map_err(|_| "item id too large for iloc")?;
                body.extend_from_slice(&id.to_be_bytes());
            } else {
                body.extend_from_slice(&item.id.to_be_bytes());
            }
            if self.version > 0 {
                body.extend_from_slice(&u16::from(item.construction_method).to_be_bytes());
            }
            body.extend_from_slice(&item.data_reference_index.to_be_bytes());
            put_uint(
                &mut body,
                item.base_offset,
                self.base_offset_size,
                TOO_LARGE,
            )?;
            let extent_count =
                u16::try_from(item.extents.len()).map_err(|_| "too many extents for iloc")?;
            body.extend_from_slice(&extent_count.to_be_bytes());
            for extent in &item.extents {
                put_uint(&mut body, extent.index, self.index_size, TOO_LARGE)?;
                put_uint(&mut body, extent.offset, self.offset_size, TOO_LARGE)?;
                put_uint(&mut body, extent.length, self.length_size, TOO_LARGE)?;
            }
        }
        Ok(body)
    }

    /// Moves the file offsets of data after `meta` by `placement.growth`, after checking every
    /// file extent lies inside the file and outside `meta`.
    fn move_file_offsets(&mut self, placement: &Placement) -> Result<(), Reason> {
        for item in &mut self.items {
            match item.construction_method {
                0 => {}
                // Relative to the start of `idat`'s data, which moves with `meta`.
                1 => continue,
                _ => return Err("iloc construction method 2 (item offsets) is not supported"),
            }
            if item.data_reference_index != 0 {
                return Err("item data in another file (data_reference_index) is not supported");
            }
            let mut after_meta = Vec::with_capacity(item.extents.len());
            for extent in &item.extents {
                if extent.length == 0 {
                    return Err("iloc extent of length 0 (whole file) is not supported");
                }
                let start = item
                    .base_offset
                    .checked_add(extent.offset)
                    .ok_or(OVERFLOW)?;
                start
                    .checked_add(extent.length)
                    .filter(|&end| end <= placement.file_len)
                    .ok_or("iloc extent runs past the end of the file")?;
                if start >= placement.meta_end {
                    after_meta.push(true);
                } else if start + extent.length <= placement.meta_start {
                    after_meta.push(false);
                } else {
                    return Err("iloc extent overlaps the meta box");
                }
            }
            let growth = placement.growth;
            let all_move = !after_meta.is_empty() && after_meta.iter().all(|&moves| moves);
            if all_move && self.base_offset_size > 0 {
                // One field to change instead of one per extent.
                item.base_offset = item.base_offset.checked_add(growth).ok_or(OVERFLOW)?;
            } else {
                for (extent, &moves) in item.extents.iter_mut().zip(&after_meta) {
                    if !moves {
                        continue;
                    }
                    if self.offset_size == 0 {
                        return Err("iloc has no extent offset field to move");
                    }
                    extent.offset = extent.offset.checked_add(growth).ok_or(OVERFLOW)?;
                }
            }
        }
        Ok(())
    }

    /// The iloc entry of the XMP item: one extent with the whole packet.
    fn xmp_item(&self, placement: &Placement) -> Result<IlocItem, Reason> {
        if self.length_size == 0 {
            return Err("iloc has no extent length field (length_size 0)");
        }
        let (base_offset, offset) = if self.offset_size > 0 {
            (0, placement.xmp_offset)
        } else if self.base_offset_size > 0 {
            (placement.xmp_offset, 0)
        } else {
            return Err("iloc has no offset fields (offset_size and base_offset_size 0)");
        };
        Ok(IlocItem {
            id: placement.new_id,
            construction_method: 0,
            data_reference_index: 0,
            base_offset,
            extents: vec![IlocExtent {
                index: 0,
                offset,
                length: placement.xmp_len,
            }],
        })
    }
}

/// An offset moved past 2^64, only possible in a corrupt file.
const OVERFLOW: Reason = "iloc offset overflows";

fn put_uint(out: &mut Vec<u8>, value: u64, size: u8, too_large: Reason) -> Result<(), Reason> {
    match size {
        0 if value == 0 => {}
        4 => out.extend_from_slice(&u32::try_from(value).map_err(|_| too_large)?.to_be_bytes()),
        8 => out.extend_from_slice(&value.to_be_bytes()),
        _ => return Err(too_large),
    }
    Ok(())
}

/// Appends a box; `large` writes a 64-bit size, as the box it replaces had.
fn push_box(out: &mut Vec<u8>, box_type: &[u8; 4], large: bool, body: &[u8]) -> Result<(), Reason> {
    if large {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(box_type);
        out.extend_from_slice(&(16 + body.len() as u64).to_be_bytes());
    } else {
        let size = u32::try_from(COMPACT_HEADER_LEN + body.len())
            .map_err(|_| "box over 4 GiB needs a 64-bit size")?;
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(box_type);
    }
    out.extend_from_slice(body);
    Ok(())
}

/// How a box header gives its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeField {
    /// 32-bit size.
    Compact,
    /// `size` 1 and a 64-bit `largesize`.
    Large,
    /// `size` 0: the box runs to the end of the file.
    ToEnd,
}

/// A box's position in the slice it was parsed from.
#[derive(Debug, Clone, Copy)]
struct BoxSpan {
    box_type: [u8; 4],
    start: usize,
    body_start: usize,
    end: usize,
    size_field: SizeField,
}

impl BoxSpan {
    fn bytes<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.start..self.end]
    }

    fn body<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.body_start..self.end]
    }
}

/// The boxes that fill `data` exactly. Size 0 ("to the end of the file") is only valid in a
/// file (`is_file`), not inside another box.
fn parse_boxes(data: &[u8], is_file: bool) -> Result<Vec<BoxSpan>, Reason> {
    let mut boxes = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let mut reader = Reader::new(&data[start..]);
        let compact_size = reader.u32().map_err(|_| "truncated box header")?;
        let box_type = reader.array::<4>().map_err(|_| "truncated box header")?;
        let (size, size_field) = match compact_size {
            0 if is_file => ((data.len() - start) as u64, SizeField::ToEnd),
            0 => return Err("box of size 0 inside another box"),
            1 => (
                reader.u64().map_err(|_| "truncated box header")?,
                SizeField::Large,
            ),
            size => (u64::from(size), SizeField::Compact),
        };
        if &box_type == b"uuid" {
            reader.array::<16>().map_err(|_| "truncated box header")?;
        }
        let body_start = start + reader.position();
        let end = usize::try_from(size)
            .ok()
            .and_then(|size| start.checked_add(size))
            .filter(|&end| end <= data.len())
            .ok_or("box runs past the end of its container")?;
        if end < body_start {
            return Err("box size smaller than its header");
        }
        boxes.push(BoxSpan {
            box_type,
            start,
            body_start,
            end,
            size_field,
        });
        start = end;
    }
    Ok(boxes)
}

/// Big-endian reads that fail instead of running past the end.
struct Reader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, position: 0 }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Reason> {
        let bytes = self
            .position
            .checked_add(len)
            .and_then(|end| self.data.get(self.position..end))
            .ok_or("box content truncated")?;
        self.position += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Reason> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u16(&mut self) -> Result<u16, Reason> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32, Reason> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64, Reason> {
        self.array().map(u64::from_be_bytes)
    }

    /// An item id: 32 bits in the `wide` box versions, 16 bits in the older ones.
    fn item_id(&mut self, wide: bool) -> Result<u32, Reason> {
        if wide {
            self.u32()
        } else {
            self.u16().map(u32::from)
        }
    }

    /// An `iloc` field of `size` bytes (0 means absent, read as 0).
    fn uint(&mut self, size: u8) -> Result<u64, Reason> {
        match size {
            0 => Ok(0),
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            _ => Err("unsupported iloc field size"),
        }
    }

    /// Version and flags of a FullBox.
    fn full_box_header(&mut self) -> Result<(u8, [u8; 3]), Reason> {
        let [version, flags @ ..] = self.array::<4>()?;
        Ok((version, flags))
    }

    /// A NUL-terminated string, without the NUL.
    fn c_string(&mut self) -> Result<&'a [u8], Reason> {
        let rest = &self.data[self.position..];
        let len = rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or("unterminated string")?;
        self.position += len + 1;
        Ok(&rest[..len])
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = &self.data[self.position..];
        self.position = self.data.len();
        rest
    }

    fn position(&self) -> usize {
        self.position
    }

    fn is_at_end(&self) -> bool {
        self.position == self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const TITLE: &str = "Sommerfest – Bühne 2";

    /// An XMP packet with a dc:title, as exiftool would read it.
    pub(super) fn xmp_packet(title: &str) -> Vec<u8> {
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
             <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
             <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\
             </rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>"
        )
        .into_bytes()
    }

    /// How a test file encodes its boxes, to cover the choices writers make.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Layout {
        pub iloc_version: u8,
        pub offset_size: u8,
        pub length_size: u8,
        pub base_offset_size: u8,
        pub index_size: u8,
        pub iinf_version: u8,
        pub iref_version: u8,
        pub meta_size: SizeField,
        pub mdat_size: SizeField,
        pub mdat_before_meta: bool,
        pub free_box: bool,
        /// Each item's data in two extents.
        pub split_extents: bool,
        /// A primary item of type 'grid' stored in `idat`, as Apple's HEIC writer does.
        pub grid_in_idat: bool,
    }

    /// What avif-serialize and libavif write.
    pub(super) const PLAIN: Layout = Layout {
        iloc_version: 0,
        offset_size: 4,
        length_size: 4,
        base_offset_size: 0,
        index_size: 0,
        iinf_version: 0,
        iref_version: 0,
        meta_size: SizeField::Compact,
        mdat_size: SizeField::Compact,
        mdat_before_meta: false,
        free_box: false,
        split_extents: false,
        grid_in_idat: false,
    };

    /// Layouts that exercise every supported encoding at least once.
    pub(super) fn layouts() -> Vec<Layout> {
        let mut layouts = Vec::new();
        for iloc_version in 0..=2 {
            for (offset_size, base_offset_size) in [(4, 0), (8, 0), (4, 4), (8, 8), (0, 4), (0, 8)]
            {
                for length_size in [4, 8] {
                    layouts.push(Layout {
                        iloc_version,
                        offset_size,
                        length_size,
                        base_offset_size,
                        ..PLAIN
                    });
                }
            }
        }
        let whole = [
            // libavif refuses extent indexes, so these two only go through exiftool.
            Layout {
                iloc_version: 1,
                index_size: 4,
                ..PLAIN
            },
            Layout {
                iloc_version: 2,
                offset_size: 8,
                base_offset_size: 4,
                index_size: 8,
                ..PLAIN
            },
            Layout {
                iinf_version: 1,
                iref_version: 1,
                ..PLAIN
            },
            Layout {
                meta_size: SizeField::Large,
                mdat_size: SizeField::Large,
                ..PLAIN
            },
            Layout {
                mdat_size: SizeField::ToEnd,
                free_box: true,
                ..PLAIN
            },
            Layout {
                mdat_before_meta: true,
                ..PLAIN
            },
            Layout {
                mdat_before_meta: true,
                meta_size: SizeField::ToEnd,
                mdat_size: SizeField::Large,
                ..PLAIN
            },
            Layout {
                split_extents: true,
                iloc_version: 1,
                base_offset_size: 4,
                ..PLAIN
            },
            Layout {
                split_extents: true,
                mdat_size: SizeField::ToEnd,
                ..PLAIN
            },
            Layout {
                iloc_version: 1,
                grid_in_idat: true,
                ..PLAIN
            },
            Layout {
                iloc_version: 2,
                offset_size: 0,
                base_offset_size: 8,
                grid_in_idat: true,
                ..PLAIN
            },
        ];
        layouts.extend(whole);
        layouts
    }

    fn iloc_of(file: &[u8]) -> Iloc {
        let meta = meta_content(file);
        let children = parse_boxes(meta, false).unwrap();
        let iloc = children.iter().find(|c| &c.box_type == b"iloc").unwrap();
        Iloc::parse(iloc.body(meta)).unwrap()
    }

    fn meta_content(file: &[u8]) -> &[u8] {
        let boxes = parse_boxes(file, true).unwrap();
        let meta = boxes.iter().find(|b| &b.box_type == b"meta").unwrap();
        &meta.body(file)[4..]
    }

    /// The data of item `id`, read through `iloc` (file or `idat` offsets).
    pub(super) fn item_data(file: &[u8], id: u32) -> Vec<u8> {
        let iloc = iloc_of(file);
        let item = iloc.items.iter().find(|item| item.id == id).unwrap();
        let source = match item.construction_method {
            0 => file,
            _ => {
                let meta = meta_content(file);
                let children = parse_boxes(meta, false).unwrap();
                children
                    .iter()
                    .find(|c| &c.box_type == b"idat")
                    .unwrap()
                    .body(meta)
            }
        };
        let mut data = Vec::new();
        for extent in &item.extents {
            let start = (item.base_offset + extent.offset) as usize;
            data.extend_from_slice(&source[start..start + extent.length as usize]);
        }
        data
    }

    /// The item type in the `infe` (version 2 or 3) of item `id`.
    fn item_type(file: &[u8], id: u32) -> [u8; 4] {
        let meta = meta_content(file);
        let children = parse_boxes(meta, false).unwrap();
        let iinf = children.iter().find(|c| &c.box_type == b"iinf").unwrap();
        let entries = Iinf::parse(iinf.body(meta)).unwrap().entries;
        for infe in parse_boxes(entries, false).unwrap() {
            let mut reader = Reader::new(infe.body(entries));
            let (version, _) = reader.full_box_header().unwrap();
            if reader.item_id(version == 3).unwrap() == id {
                reader.u16().unwrap();
                return reader.array().unwrap();
            }
        }
        panic!("no infe for item {id}");
    }

    /// (reference type, from, to) of every reference in `iref`.
    fn references(file: &[u8]) -> Vec<([u8; 4], u32, Vec<u32>)> {
        let meta = meta_content(file);
        let children = parse_boxes(meta, false).unwrap();
        let Some(iref) = children.iter().find(|c| &c.box_type == b"iref") else {
            return Vec::new();
        };
        let body = iref.body(meta);
        let wide = body[0] == 1;
        let refs = &body[4..];
        parse_boxes(refs, false)
            .unwrap()
            .iter()
            .map(|reference| {
                let mut reader = Reader::new(reference.body(refs));
                let from = reader.item_id(wide).unwrap();
                let count = reader.u16().unwrap();
                let to = (0..count).map(|_| reader.item_id(wide).unwrap()).collect();
                (reference.box_type, from, to)
            })
            .collect()
    }

    /// `file` rewritten as `layout` says: same items with the same data and properties.
    pub(super) fn remux(file: &[u8], layout: &Layout) -> Vec<u8> {
        // Only the last box may run to the end of the file.
        assert!(!(layout.mdat_before_meta && layout.mdat_size == SizeField::ToEnd));
        assert!(layout.mdat_before_meta || layout.meta_size != SizeField::ToEnd);
        let boxes = parse_boxes(file, true).unwrap();
        let meta = boxes.iter().find(|b| &b.box_type == b"meta").unwrap();
        let meta_body = meta.body(file);
        let content = &meta_body[4..];
        let children = parse_boxes(content, false).unwrap();
        let old_iloc = iloc_of(file);

        // Where each item's data goes: file items packed into the new mdat, idat items where
        // they were (as one extent, relative to idat).
        let primary = MetaParts::parse(content, ItemKind::Xmp).unwrap().primary_id;
        let grid_to_idat = layout.grid_in_idat && item_type(file, primary) == *b"grid";
        let mut idat = children
            .iter()
            .find(|child| &child.box_type == b"idat")
            .map(|idat| idat.body(content).to_vec());
        let mut payload = Vec::new();
        let mut positions = Vec::new();
        for item in &old_iloc.items {
            let len = item_data(file, item.id).len() as u64;
            if grid_to_idat && item.id == primary {
                assert!(
                    layout.iloc_version > 0,
                    "idat items need iloc version 1 or 2"
                );
                let idat = idat.get_or_insert_with(Vec::new);
                positions.push((false, idat.len() as u64, len));
                idat.extend_from_slice(&item_data(file, item.id));
            } else if item.construction_method == 0 {
                positions.push((true, payload.len() as u64, len));
                payload.extend_from_slice(&item_data(file, item.id));
            } else {
                assert!(
                    layout.iloc_version > 0,
                    "idat items need iloc version 1 or 2"
                );
                assert_eq!(item.extents.len(), 1);
                positions.push((false, item.base_offset + item.extents[0].offset, len));
            }
        }
        let iloc_at = |payload_start: u64| Iloc {
            version: layout.iloc_version,
            flags: [0; 3],
            offset_size: layout.offset_size,
            length_size: layout.length_size,
            base_offset_size: layout.base_offset_size,
            index_size: layout.index_size,
            items: old_iloc
                .items
                .iter()
                .zip(&positions)
                .map(|(item, &(in_mdat, relative, len))| {
                    let start = if in_mdat { payload_start } else { 0 };
                    let absolute = start + relative;
                    let (base_offset, offset) = match (layout.base_offset_size, layout.offset_size)
                    {
                        (0, _) => (0, absolute),
                        (_, 0) => (absolute, 0),
                        _ => (start, relative),
                    };
                    let extent = |offset, length| IlocExtent {
                        index: 0,
                        offset,
                        length,
                    };
                    let extents = if layout.split_extents && in_mdat && len >= 2 {
                        assert!(layout.offset_size > 0);
                        let half = len / 2;
                        vec![extent(offset, half), extent(offset + half, len - half)]
                    } else {
                        vec![extent(offset, len)]
                    };
                    IlocItem {
                        id: item.id,
                        construction_method: if in_mdat { 0 } else { 1 },
                        data_reference_index: 0,
                        base_offset,
                        extents,
                    }
                })
                .collect(),
        };
        let meta_at = |payload_start: u64| {
            let mut body = meta_body[..4].to_vec();
            for child in &children {
                match &child.box_type {
                    b"iloc" => {
                        let iloc = iloc_at(payload_start).write_body().unwrap();
                        push_box(&mut body, b"iloc", false, &iloc).unwrap();
                    }
                    b"iinf" => {
                        let iinf = Iinf::parse(child.body(content)).unwrap();
                        let mut iinf_body = vec![layout.iinf_version, 0, 0, 0];
                        if layout.iinf_version == 0 {
                            iinf_body.extend_from_slice(&(iinf.entry_count as u16).to_be_bytes());
                        } else {
                            iinf_body.extend_from_slice(&iinf.entry_count.to_be_bytes());
                        }
                        iinf_body.extend_from_slice(iinf.entries);
                        push_box(&mut body, b"iinf", false, &iinf_body).unwrap();
                    }
                    b"iref" => {
                        let wide = layout.iref_version == 1;
                        let mut iref_body = vec![layout.iref_version, 0, 0, 0];
                        for (reference_type, from, to) in references(file) {
                            let mut reference = Vec::new();
                            put_item_id(&mut reference, from, !wide).unwrap();
                            reference.extend_from_slice(&(to.len() as u16).to_be_bytes());
                            for id in to {
                                put_item_id(&mut reference, id, !wide).unwrap();
                            }
                            push_box(&mut iref_body, &reference_type, false, &reference).unwrap();
                        }
                        push_box(&mut body, b"iref", false, &iref_body).unwrap();
                    }
                    b"idat" => {}
                    _ => body.extend_from_slice(child.bytes(content)),
                }
            }
            if let Some(idat) = &idat {
                push_box(&mut body, b"idat", false, idat).unwrap();
            }
            let mut meta = Vec::new();
            let large = layout.meta_size == SizeField::Large;
            push_box(&mut meta, b"meta", large, &body).unwrap();
            if layout.meta_size == SizeField::ToEnd {
                meta[..4].copy_from_slice(&[0; 4]);
            }
            meta
        };

        let mut prefix = boxes[0].bytes(file).to_vec();
        if layout.free_box {
            push_box(&mut prefix, b"free", false, b"padding").unwrap();
        }
        let mdat_header_len = if layout.mdat_size == SizeField::Large {
            16
        } else {
            8
        };
        let meta_len = meta_at(0).len();
        let payload_start = if layout.mdat_before_meta {
            prefix.len() + mdat_header_len
        } else {
            prefix.len() + meta_len + mdat_header_len
        } as u64;
        let meta = meta_at(payload_start);
        let mut mdat = Vec::new();
        match layout.mdat_size {
            SizeField::Compact => push_box(&mut mdat, b"mdat", false, &payload).unwrap(),
            SizeField::Large => push_box(&mut mdat, b"mdat", true, &payload).unwrap(),
            SizeField::ToEnd => {
                mdat.extend_from_slice(&[0, 0, 0, 0]);
                mdat.extend_from_slice(b"mdat");
                mdat.extend_from_slice(&payload);
            }
        }
        let mut out = prefix;
        if layout.mdat_before_meta {
            out.extend_from_slice(&mdat);
            out.extend_from_slice(&meta);
        } else {
            out.extend_from_slice(&meta);
            out.extend_from_slice(&mdat);
        }
        out
    }

    /// Checks `out` is `original` plus the XMP item `packet` describing the primary item, and
    /// returns the new item's id.
    pub(super) fn check_added(original: &[u8], out: &[u8], packet: &[u8]) -> u32 {
        let old_iloc = iloc_of(original);
        let new_iloc = iloc_of(out);
        assert_eq!(new_iloc.items.len(), old_iloc.items.len() + 1);
        for item in &old_iloc.items {
            assert_eq!(item_data(out, item.id), item_data(original, item.id));
        }
        let new_id = new_iloc.items.last().unwrap().id;
        assert!(old_iloc.items.iter().all(|item| item.id < new_id));
        assert_eq!(item_data(out, new_id), packet);
        let primary = MetaParts::parse(meta_content(original), ItemKind::Xmp)
            .unwrap()
            .primary_id;
        let mut expected_refs = references(original);
        expected_refs.push((*b"cdsc", new_id, vec![primary]));
        assert_eq!(references(out), expected_refs);
        // The infe entry is there and reads as XMP.
        assert_eq!(
            avif_with_xmp(out, packet).err(),
            Some("file already has an XMP item")
        );
        new_id
    }

    /// A small synthetic AVIF: item 1 'av01' (primary) and item 2 'Exif' describing it, both in
    /// `mdat`; with `idat`, a third 'mime' item stored in `idat`; with `group_id`, a `grpl`.
    fn synthetic_avif(idat: bool, group_id: Option<u32>) -> Vec<u8> {
        let mut ftyp = Vec::new();
        push_box(&mut ftyp, b"ftyp", false, b"avif\0\0\0\0avifmif1miaf").unwrap();
        let mut hdlr = Vec::new();
        push_box(
            &mut hdlr,
            b"hdlr",
            false,
            b"\0\0\0\0\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0",
        )
        .unwrap();
        let mut pitm = Vec::new();
        push_box(&mut pitm, b"pitm", false, &[0, 0, 0, 0, 0, 1]).unwrap();
        let mut infes = Vec::new();
        push_box(
            &mut infes,
            b"infe",
            false,
            b"\x02\0\0\0\0\x01\0\0av01Color\0",
        )
        .unwrap();
        push_box(
            &mut infes,
            b"infe",
            false,
            b"\x02\0\0\0\0\x02\0\0ExifExif\0",
        )
        .unwrap();
        if idat {
            push_box(
                &mut infes,
                b"infe",
                false,
                b"\x02\0\0\0\0\x03\0\0mimeNote\0text/plain\0",
            )
            .unwrap();
        }
        let count = if idat { 3u16 } else { 2 };
        let mut iinf_body = vec![0, 0, 0, 0];
        iinf_body.extend_from_slice(&count.to_be_bytes());
        iinf_body.extend_from_slice(&infes);
        let mut iinf = Vec::new();
        push_box(&mut iinf, b"iinf", false, &iinf_body).unwrap();
        let mut cdsc = Vec::new();
        push_box(&mut cdsc, b"cdsc", false, &[0, 2, 0, 1, 0, 1]).unwrap();
        let mut iref = Vec::new();
        push_box(
            &mut iref,
            b"iref",
            false,
            &[[0, 0, 0, 0].as_slice(), &cdsc].concat(),
        )
        .unwrap();
        let mut ispe = Vec::new();
        push_box(
            &mut ispe,
            b"ispe",
            false,
            &[0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 48],
        )
        .unwrap();
        let mut ipco = Vec::new();
        push_box(&mut ipco, b"ipco", false, &ispe).unwrap();
        let mut ipma = Vec::new();
        push_box(
            &mut ipma,
            b"ipma",
            false,
            &[0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0x81],
        )
        .unwrap();
        let mut iprp = Vec::new();
        push_box(&mut iprp, b"iprp", false, &[ipco, ipma].concat()).unwrap();
        let mut idat_box = Vec::new();
        if idat {
            push_box(&mut idat_box, b"idat", false, b"xxnote in idat").unwrap();
        }
        let mut grpl = Vec::new();
        if let Some(group_id) = group_id {
            let mut altr = vec![0, 0, 0, 0];
            altr.extend_from_slice(&group_id.to_be_bytes());
            altr.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
            let mut group = Vec::new();
            push_box(&mut group, b"altr", false, &altr).unwrap();
            push_box(&mut grpl, b"grpl", false, &group).unwrap();
        }
        let image = b"pretend AV1 data";
        let exif = b"\0\0\0\0MM\0*\0\0\0\x08\0\0";
        let iloc_at = |payload_start: u64| {
            let extent = |offset, length| IlocExtent {
                index: 0,
                offset,
                length,
            };
            let mut items = vec![
                IlocItem {
                    id: 1,
                    construction_method: 0,
                    data_reference_index: 0,
                    base_offset: 0,
                    extents: vec![extent(payload_start, image.len() as u64)],
                },
                IlocItem {
                    id: 2,
                    construction_method: 0,
                    data_reference_index: 0,
                    base_offset: 0,
                    extents: vec![extent(
                        payload_start + image.len() as u64,
                        exif.len() as u64,
                    )],
                },
            ];
            if idat {
                items.push(IlocItem {
                    id: 3,
                    construction_method: 1,
                    data_reference_index: 0,
                    base_offset: 0,
                    extents: vec![extent(2, 12)],
                });
            }
            let iloc = Iloc {
                version: if idat { 1 } else { 0 },
                flags: [0; 3],
                offset_size: 4,
                length_size: 4,
                base_offset_size: 0,
                index_size: 0,
                items,
            };
            let mut iloc_box = Vec::new();
            push_box(&mut iloc_box, b"iloc", false, &iloc.write_body().unwrap()).unwrap();
            let mut meta = Vec::new();
            let body = [
                &[0u8, 0, 0, 0][..],
                &hdlr,
                &pitm,
                &iloc_box,
                &iinf,
                &iref,
                &iprp,
                &idat_box,
                &grpl,
            ]
            .concat();
            push_box(&mut meta, b"meta", false, &body).unwrap();
            meta
        };
        let payload_start = (ftyp.len() + iloc_at(0).len() + 8) as u64;
        let mut file = ftyp;
        file.extend_from_slice(&iloc_at(payload_start));
        push_box(&mut file, b"mdat", false, &[&image[..], exif].concat()).unwrap();
        assert_eq!(item_data(&file, 1), image);
        file
    }

    #[test]
    fn adds_xmp_item_to_synthetic_file() {
        let original = synthetic_avif(false, None);
        let packet = xmp_packet(TITLE);
        let out = avif_with_xmp(&original, &packet).unwrap();
        assert_eq!(check_added(&original, &out, &packet), 3);
        // The packet is in a new mdat at the very end.
        assert!(out.ends_with(&packet));
        let tail = &out[out.len() - packet.len() - 8..];
        assert_eq!(&tail[4..8], b"mdat");
    }

    #[test]
    fn creates_iref_when_absent() {
        // With mdat first, dropping iref from meta moves no item data.
        let mdat_first = Layout {
            mdat_before_meta: true,
            ..PLAIN
        };
        let with_iref = remux(&synthetic_avif(false, None), &mdat_first);
        // Drop the cdsc of the Exif item, and iref with it.
        let meta = meta_content(&with_iref);
        let children = parse_boxes(meta, false).unwrap();
        let mut body = vec![0, 0, 0, 0];
        for child in children.iter().filter(|c| &c.box_type != b"iref") {
            body.extend_from_slice(child.bytes(meta));
        }
        let mut meta_box = Vec::new();
        push_box(&mut meta_box, b"meta", false, &body).unwrap();
        let boxes = parse_boxes(&with_iref, true).unwrap();
        let mut file = boxes[0].bytes(&with_iref).to_vec();
        file.extend_from_slice(boxes[1].bytes(&with_iref));
        file.extend_from_slice(&meta_box);
        let file = remux(&file, &PLAIN);
        assert!(references(&file).is_empty());
        let packet = xmp_packet(TITLE);
        let out = avif_with_xmp(&file, &packet).unwrap();
        check_added(&file, &out, &packet);
    }

    #[test]
    fn every_supported_layout() {
        let packet = xmp_packet(TITLE);
        for idat in [false, true] {
            for layout in layouts() {
                if idat && layout.iloc_version == 0 {
                    continue;
                }
                let file = remux(&synthetic_avif(idat, None), &layout);
                let out = avif_with_xmp(&file, &packet)
                    .unwrap_or_else(|reason| panic!("{layout:?}: {reason}"));
                check_added(&file, &out, &packet);
                if idat {
                    assert_eq!(item_data(&out, 3), b"note in idat");
                }
            }
        }
    }

    #[test]
    fn box_headers_are_kept() {
        let packet = xmp_packet(TITLE);
        let layout = Layout {
            meta_size: SizeField::Large,
            mdat_size: SizeField::ToEnd,
            ..PLAIN
        };
        let file = remux(&synthetic_avif(false, None), &layout);
        let out = avif_with_xmp(&file, &packet).unwrap();
        let boxes = parse_boxes(&out, true).unwrap();
        let summary: Vec<_> = boxes.iter().map(|b| (b.box_type, b.size_field)).collect();
        assert_eq!(
            summary,
            [
                (*b"ftyp", SizeField::Compact),
                (*b"meta", SizeField::Large),
                // No longer the last box, so it got its size.
                (*b"mdat", SizeField::Compact),
                (*b"mdat", SizeField::Compact),
            ]
        );
    }

    #[test]
    fn meta_running_to_the_end_gets_its_size() {
        let packet = xmp_packet(TITLE);
        let layout = Layout {
            mdat_before_meta: true,
            meta_size: SizeField::ToEnd,
            ..PLAIN
        };
        let file = remux(&synthetic_avif(false, None), &layout);
        let out = avif_with_xmp(&file, &packet).unwrap();
        check_added(&file, &out, &packet);
        let boxes = parse_boxes(&out, true).unwrap();
        let summary: Vec<_> = boxes.iter().map(|b| (b.box_type, b.size_field)).collect();
        assert_eq!(
            summary,
            [
                (*b"ftyp", SizeField::Compact),
                (*b"mdat", SizeField::Compact),
                (*b"meta", SizeField::Compact),
                (*b"mdat", SizeField::Compact),
            ]
        );
    }

    #[test]
    fn data_before_meta_does_not_move() {
        let packet = xmp_packet(TITLE);
        let layout = Layout {
            mdat_before_meta: true,
            ..PLAIN
        };
        let file = remux(&synthetic_avif(false, None), &layout);
        let out = avif_with_xmp(&file, &packet).unwrap();
        check_added(&file, &out, &packet);
        let (old, new) = (iloc_of(&file), iloc_of(&out));
        assert_eq!(old.items[..], new.items[..old.items.len()]);
    }

    #[test]
    fn new_id_skips_entity_group_ids() {
        let packet = xmp_packet(TITLE);
        let file = synthetic_avif(false, Some(10));
        let out = avif_with_xmp(&file, &packet).unwrap();
        assert_eq!(check_added(&file, &out, &packet), 11);
    }

    #[test]
    fn refuses_malformed_input() {
        let packet = xmp_packet(TITLE);
        let not_bmff: [&[u8]; 5] = [
            b"",
            b"\0\0",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            b"just some text, long enough to look like boxes",
            &[0xFF; 64],
        ];
        for input in not_bmff {
            assert!(avif_with_xmp(input, &packet).is_err());
        }
        let empty = avif_with_xmp(&synthetic_avif(false, None), b"");
        assert_eq!(empty.err(), Some("empty XMP packet"));
    }

    #[test]
    fn refuses_every_truncation() {
        let packet = xmp_packet(TITLE);
        for file in [
            synthetic_avif(true, Some(7)),
            remux(&synthetic_avif(false, None), &layouts()[20]),
        ] {
            for len in 0..file.len() {
                assert!(
                    avif_with_xmp(&file[..len], &packet).is_err(),
                    "accepted a file cut at {len} bytes"
                );
            }
        }
    }

    #[test]
    fn survives_corrupted_bytes() {
        let packet = xmp_packet(TITLE);
        let original = synthetic_avif(true, Some(7));
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut file = original.clone();
            for _ in 0..1 + next() % 3 {
                let position = (next() % file.len() as u64) as usize;
                file[position] = match next() % 4 {
                    0 => 0,
                    1 => 0xFF,
                    2 => file[position].wrapping_add(1),
                    _ => next() as u8,
                };
            }
            // Any answer will do, as long as it does not panic and what it writes parses.
            if let Ok(out) = avif_with_xmp(&file, &packet) {
                assert_eq!(
                    avif_with_xmp(&out, &packet).err(),
                    Some("file already has an XMP item")
                );
            }
        }
    }

    /// `file` with its iloc values changed by `edit`, same field sizes so nothing moves.
    fn with_iloc(file: &[u8], edit: impl FnOnce(&mut Iloc)) -> Vec<u8> {
        let mut iloc = iloc_of(file);
        let old_body = iloc.write_body().unwrap();
        edit(&mut iloc);
        let new_body = iloc.write_body().unwrap();
        assert_eq!(old_body.len(), new_body.len());
        let position = file
            .windows(old_body.len())
            .position(|window| window == old_body)
            .unwrap();
        let mut edited = file.to_vec();
        edited[position..position + new_body.len()].copy_from_slice(&new_body);
        edited
    }

    #[test]
    fn refuses_what_it_does_not_handle() {
        let packet = xmp_packet(TITLE);
        let plain = synthetic_avif(false, None);
        let v1 = synthetic_avif(true, None);
        let cases: Vec<(Vec<u8>, Reason)> = vec![
            (
                with_iloc(&v1, |iloc| iloc.items[0].construction_method = 2),
                "iloc construction method 2 (item offsets) is not supported",
            ),
            (
                with_iloc(&plain, |iloc| iloc.items[1].data_reference_index = 1),
                "item data in another file (data_reference_index) is not supported",
            ),
            (
                with_iloc(&plain, |iloc| iloc.items[0].extents[0].length = 0),
                "iloc extent of length 0 (whole file) is not supported",
            ),
            (
                with_iloc(&plain, |iloc| iloc.items[1].extents[0].length += 1),
                "iloc extent runs past the end of the file",
            ),
            (
                with_iloc(&plain, |iloc| iloc.items[0].extents[0].offset = 40),
                "iloc extent overlaps the meta box",
            ),
            (
                avif_with_xmp(&plain, &packet).unwrap(),
                "file already has an XMP item",
            ),
            (
                [&plain[..], b"\0\0\0\x08moov"].concat(),
                "image sequences (moov box) are not supported",
            ),
            (
                [&plain[..], b"\0\0\0\x08abcd"].concat(),
                "unsupported top-level box",
            ),
            (
                plain
                    .replace_all(b"avif", b"heix")
                    .replace_all(b"mif1", b"msf2"),
                "not an AVIF/HEIF file: no avif or mif1 brand",
            ),
            (
                plain.replace_all(b"pict", b"vide"),
                "meta handler is not 'pict' (not an image)",
            ),
        ];
        for (file, reason) in cases {
            assert_eq!(avif_with_xmp(&file, &packet).err(), Some(reason));
        }
    }

    trait ReplaceAll {
        fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }

    impl ReplaceAll for [u8] {
        fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            let mut out = self.to_vec();
            let mut position = 0;
            while let Some(found) = out[position..].windows(from.len()).position(|w| w == from) {
                out[position + found..position + found + from.len()].copy_from_slice(to);
                position += found + from.len();
            }
            out
        }
    }

    #[test]
    fn refuses_offsets_that_outgrow_their_field() {
        let placement = Placement {
            meta_start: 100,
            meta_end: 200,
            file_len: u64::MAX,
            growth: 100,
            xmp_offset: 1000,
            xmp_len: 10,
            new_id: 2,
            kind: ItemKind::Xmp,
        };
        let near_limit = u64::from(u32::MAX) - 50;
        let mut iloc = Iloc {
            version: 0,
            flags: [0; 3],
            offset_size: 4,
            length_size: 4,
            base_offset_size: 0,
            index_size: 0,
            items: vec![IlocItem {
                id: 1,
                construction_method: 0,
                data_reference_index: 0,
                base_offset: 0,
                extents: vec![IlocExtent {
                    index: 0,
                    offset: near_limit,
                    length: 10,
                }],
            }],
        };
        let mut moved = iloc.clone();
        moved.move_file_offsets(&placement).unwrap();
        assert_eq!(
            moved.write_body(),
            Err("iloc offset or length does not fit its field size")
        );
        // The same with 8-byte offsets is fine.
        iloc.offset_size = 8;
        iloc.move_file_offsets(&placement).unwrap();
        assert_eq!(iloc.items[0].extents[0].offset, near_limit + 100);
        assert!(iloc.write_body().is_ok());
    }

    #[test]
    fn refuses_iloc_without_room_for_the_new_item() {
        let placement = Placement {
            meta_start: 0,
            meta_end: 0,
            file_len: 0,
            growth: 0,
            xmp_offset: 1000,
            xmp_len: 10,
            new_id: 2,
            kind: ItemKind::Xmp,
        };
        let iloc = |offset_size, length_size, base_offset_size| Iloc {
            version: 0,
            flags: [0; 3],
            offset_size,
            length_size,
            base_offset_size,
            index_size: 0,
            items: Vec::new(),
        };
        assert_eq!(
            iloc(0, 4, 0).xmp_item(&placement),
            Err("iloc has no offset fields (offset_size and base_offset_size 0)")
        );
        assert_eq!(
            iloc(4, 0, 0).xmp_item(&placement),
            Err("iloc has no extent length field (length_size 0)")
        );
        let mut narrow = iloc(4, 4, 0);
        narrow
            .items
            .push(iloc(0, 4, 4).xmp_item(&placement).unwrap());
        narrow.items[0].id = 70_000;
        assert_eq!(narrow.write_body(), Err("item id too large for iloc"));
    }
}
