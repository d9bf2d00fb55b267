//! The XMP packet: Dublin Core title/description/subject/creator/rights, IPTC
//! Extension PersonInImage/Event, photoshop:DateCreated and MWG face regions.

use std::fmt::Write as _;

use super::{clean_text, FaceRegion, OutputMetadata};

const PACKET_BEGIN: &str = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n";
const PACKET_END: &str = "<?xpacket end=\"w\"?>";
/// Padding other tools can grow into when they edit the packet in place.
const PREFERRED_PADDING: usize = 2048;

/// The full packet, `<?xpacket?>` wrapper included, without padding.
pub(super) fn packet(meta: &OutputMetadata) -> String {
    let mut body = String::new();
    lang_alt(&mut body, "dc:title", meta.title.as_deref());
    lang_alt(&mut body, "dc:description", meta.caption.as_deref());
    array(&mut body, "dc:subject", "rdf:Bag", &meta.keywords);
    array(&mut body, "dc:creator", "rdf:Seq", meta.creator.as_slice());
    lang_alt(&mut body, "dc:rights", meta.rights.as_deref());
    array(
        &mut body,
        "Iptc4xmpExt:PersonInImage",
        "rdf:Bag",
        &meta.persons_in_image,
    );
    lang_alt(&mut body, "Iptc4xmpExt:Event", meta.event.as_deref());
    if let Some(capture_time) = &meta.capture_time {
        let _ = writeln!(
            body,
            "   <photoshop:DateCreated>{}</photoshop:DateCreated>",
            capture_time.iso8601()
        );
    }
    regions(&mut body, meta);

    let mut packet = String::with_capacity(body.len() + 1024);
    packet.push_str(PACKET_BEGIN);
    packet.push_str(concat!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"headshot ",
        env!("CARGO_PKG_VERSION"),
        "\">\n",
        " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n",
        "  <rdf:Description rdf:about=\"\"\n",
        "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n",
        "    xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\"\n",
        "    xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"\n",
        "    xmlns:mwg-rs=\"http://www.metadataworkinggroup.com/schemas/regions/\"\n",
        "    xmlns:stDim=\"http://ns.adobe.com/xap/1.0/sType/Dimensions#\"\n",
        "    xmlns:stArea=\"http://ns.adobe.com/xmp/sType/Area#\">\n",
    ));
    packet.push_str(&body);
    packet.push_str("  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n");
    packet.push_str(PACKET_END);
    packet
}

/// `packet` with whitespace padding before the closing processing instruction,
/// as much of [`PREFERRED_PADDING`] as fits within `limit` bytes.
pub(super) fn pad_packet(packet: String, limit: usize) -> String {
    let room = limit.saturating_sub(packet.len()).min(PREFERRED_PADDING);
    let Some(end_at) = packet.rfind(PACKET_END) else {
        return packet;
    };
    let mut padded = String::with_capacity(packet.len() + room);
    padded.push_str(&packet[..end_at]);
    // Lines of spaces ending in a newline, as Adobe's toolkit pads.
    let mut remaining = room;
    while remaining > 0 {
        let line = remaining.min(100);
        padded.extend(std::iter::repeat_n(' ', line - 1));
        padded.push('\n');
        remaining -= line;
    }
    padded.push_str(PACKET_END);
    padded
}

/// Escapes text for XML element content or attribute values. CR is escaped too,
/// because XML parsers turn a literal CR (or CR LF) into LF.
pub(super) fn escape(text: &str) -> String {
    let text = clean_text(text);
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\r' => escaped.push_str("&#xD;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn lang_alt(body: &mut String, property: &str, value: Option<&str>) {
    let Some(value) = value else { return };
    let _ = writeln!(
        body,
        "   <{property}>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">{}</rdf:li>\n    </rdf:Alt>\n   </{property}>",
        escape(value)
    );
}

fn array(body: &mut String, property: &str, kind: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(body, "   <{property}>\n    <{kind}>");
    for item in items {
        let _ = writeln!(body, "     <rdf:li>{}</rdf:li>", escape(item));
    }
    let _ = writeln!(body, "    </{kind}>\n   </{property}>");
}

fn regions(body: &mut String, meta: &OutputMetadata) {
    if meta.face_regions.is_empty() {
        return;
    }
    let size = meta.pixel_size;
    let _ = writeln!(
        body,
        "   <mwg-rs:Regions rdf:parseType=\"Resource\">\n    <mwg-rs:AppliedToDimensions stDim:w=\"{}\" stDim:h=\"{}\" stDim:unit=\"pixel\"/>\n    <mwg-rs:RegionList>\n     <rdf:Bag>",
        size.width, size.height
    );
    for region in &meta.face_regions {
        region_item(body, region);
    }
    let _ = writeln!(
        body,
        "     </rdf:Bag>\n    </mwg-rs:RegionList>\n   </mwg-rs:Regions>"
    );
}

fn region_item(body: &mut String, region: &FaceRegion) {
    let _ = writeln!(
        body,
        "      <rdf:li rdf:parseType=\"Resource\">\n       <mwg-rs:Area stArea:x=\"{}\" stArea:y=\"{}\" stArea:w=\"{}\" stArea:h=\"{}\" stArea:unit=\"normalized\"/>\n       <mwg-rs:Type>Face</mwg-rs:Type>",
        normalized(region.center_x),
        normalized(region.center_y),
        normalized(region.width),
        normalized(region.height),
    );
    if let Some(name) = &region.name {
        let _ = writeln!(body, "       <mwg-rs:Name>{}</mwg-rs:Name>", escape(name));
    }
    let _ = writeln!(body, "      </rdf:li>");
}

/// A 0..1 coordinate with at most 6 decimals (sub-pixel for any real frame),
/// trailing zeros trimmed: `0.5`, `0.333333`, `1`.
pub(super) fn normalized(value: f64) -> String {
    let value = if value.is_finite() {
        value.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{CaptureTime, PixelSize};

    #[test]
    fn escape_handles_markup_quotes_and_cr() {
        assert_eq!(
            escape("Seán O'Brien & <Co> \"x\"\r\n"),
            "Seán O&apos;Brien &amp; &lt;Co&gt; &quot;x&quot;&#xD;\n"
        );
        assert_eq!(escape("李小龍\u{1}"), "李小龍");
    }

    #[test]
    fn normalized_numbers_are_short_and_clamped() {
        assert_eq!(normalized(0.5), "0.5");
        assert_eq!(normalized(1.0 / 3.0), "0.333333");
        assert_eq!(normalized(1.0), "1");
        assert_eq!(normalized(0.0), "0");
        assert_eq!(normalized(1.7), "1");
        assert_eq!(normalized(-0.2), "0");
        assert_eq!(normalized(f64::NAN), "0");
    }

    fn sample() -> OutputMetadata {
        let mut meta = OutputMetadata::new(800, 1000);
        meta.title = Some("Stéphane Jolicoeur-Fidelia".into());
        meta.caption = Some("Stéphane <b> & co".into());
        meta.keywords = vec!["李小龍".into(), "O'Brien".into()];
        meta.creator = Some("Ann Photo".into());
        meta.capture_time = Some(
            CaptureTime::from_exif("2024:05:17 14:03:22", Some("35"), Some("+02:00"))
                .expect("valid"),
        );
        meta.face_regions = vec![FaceRegion::from_pixel_box(
            Some("Stéphane Jolicoeur-Fidelia".into()),
            [200.0, 100.0, 400.0, 500.0],
            PixelSize {
                width: 800,
                height: 1000,
            },
        )
        .expect("inside")];
        meta
    }

    #[test]
    fn packet_has_escaped_values_and_mwg_region() {
        let packet = packet(&sample());
        assert!(packet.starts_with("<?xpacket begin=\"\u{feff}\""));
        assert!(packet.ends_with(PACKET_END));
        assert!(
            packet.contains("<rdf:li xml:lang=\"x-default\">Stéphane &lt;b&gt; &amp; co</rdf:li>")
        );
        assert!(packet.contains("<rdf:li>O&apos;Brien</rdf:li>"));
        assert!(packet.contains(
            "<photoshop:DateCreated>2024-05-17T14:03:22.35+02:00</photoshop:DateCreated>"
        ));
        assert!(packet.contains("stDim:w=\"800\" stDim:h=\"1000\" stDim:unit=\"pixel\""));
        assert!(
            packet.contains("stArea:x=\"0.5\" stArea:y=\"0.35\" stArea:w=\"0.5\" stArea:h=\"0.5\"")
        );
        assert!(packet.contains("xmlns:stArea=\"http://ns.adobe.com/xmp/sType/Area#\""));
        assert!(packet.contains("xmlns:stDim=\"http://ns.adobe.com/xap/1.0/sType/Dimensions#\""));
        // Nothing set means no element at all, not an empty one.
        assert!(!packet.contains("dc:rights"));
        assert!(!packet.contains("PersonInImage"));
    }

    #[test]
    fn padding_fits_the_limit() {
        let packet = packet(&sample());
        let length = packet.len();
        let padded = pad_packet(packet.clone(), length + 10);
        assert_eq!(padded.len(), length + 10);
        assert!(padded.ends_with(PACKET_END));
        let roomy = pad_packet(packet, 1 << 20);
        assert_eq!(roomy.len(), length + PREFERRED_PADDING);
    }
}
