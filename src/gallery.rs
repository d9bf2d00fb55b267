//! `index.html`: one static review page for the output folder, made from the manifest.
//!
//! It works opened from disk (no server, no script, no external assets: inline CSS only, and a
//! Content-Security-Policy that forbids anything else), on a phone and on a desktop (CSS grid,
//! viewport meta). Every photo is a tile, grouped by person in capture order, unnamed last;
//! each tile shows the smallest derivative, links every derivative, and flags review and
//! failures. Everything taken from the manifest is HTML-escaped, and links are percent-encoded.

use std::fmt::Write as _;
use std::path::Path;

use crate::manifest::{Manifest, OutputRecord, PhotoRecord, Status};
use crate::names::Role;
use crate::output;

/// The page's file name in the output folder.
pub const INDEX_FILE: &str = "index.html";

/// Only same-folder images and the inline style: a name that slipped through escaping still
/// could not run, and a browser reports any blocked load as a console error.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'";

const STYLE: &str = r#"
:root { color-scheme: light dark; --line: #8884; --muted: #777; --review: #d88a00; --failed: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header, main { padding: 0 max(12px, env(safe-area-inset-left)); max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.4em; margin: 16px 0 4px; }
h2 { font-size: 1.15em; margin: 24px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h2 small, .muted { color: var(--muted); font-weight: normal; }
.summary { margin: 4px 0; }
.summary .failed { color: var(--failed); font-weight: 600; }
.summary .review { color: var(--review); font-weight: 600; }
nav { display: flex; flex-wrap: wrap; gap: 4px 12px; margin: 8px 0; }
details { margin: 4px 0; }
.grid { list-style: none; padding: 0; margin: 0; display: grid; gap: 12px;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 150px), 1fr)); }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 6px; overflow-wrap: break-word; }
.tile.review { border: 2px solid var(--review); }
.tile.failed { border: 2px solid var(--failed); }
.tile img, .tile .noimage { display: block; width: 100%; height: auto; aspect-ratio: 1; object-fit: contain;
        background: #8882; border-radius: 4px; }
.tile .noimage { display: grid; place-items: center; color: var(--muted); }
.tile p { margin: 4px 0 0; }
.name { font-weight: 600; }
.source { color: var(--muted); font-size: 0.85em; }
.flag { font-size: 0.85em; padding: 2px 6px; border-radius: 4px; }
.flag.review { background: #d88a0022; }
.flag.failed { background: #c6282822; }
.flag.skipped { color: var(--muted); }
.files { list-style: none; padding: 0; margin: 4px 0 0; font-size: 0.85em; }
.files li { display: flex; flex-wrap: wrap; justify-content: space-between; column-gap: 6px; }
.files a { white-space: nowrap; }
@media (min-width: 900px) { .grid { grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); } }
"#;

/// Writes `index.html` into `output_dir` atomically.
pub fn write_index(manifest: &Manifest, output_dir: &Path) -> std::io::Result<()> {
    output::write_atomically(
        &output_dir.join(INDEX_FILE),
        render_index(manifest).as_bytes(),
    )
}

/// A group of tiles: one person's photos, or the unnamed ones.
struct Group<'a> {
    name: Option<&'a str>,
    photos: Vec<(usize, &'a PhotoRecord)>,
}

/// Photos grouped by person name in order of first appearance (capture order); unnamed last.
fn group_by_person(photos: &[PhotoRecord]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut unnamed = Group {
        name: None,
        photos: Vec::new(),
    };
    for (index, photo) in photos.iter().enumerate() {
        match photo.person.as_ref().map(|person| person.name.as_str()) {
            Some(name) => match groups.iter_mut().find(|group| group.name == Some(name)) {
                Some(group) => group.photos.push((index, photo)),
                None => groups.push(Group {
                    name: Some(name),
                    photos: vec![(index, photo)],
                }),
            },
            None => unnamed.photos.push((index, photo)),
        }
    }
    if !unnamed.photos.is_empty() {
        // The same face side by side, so a volunteer names a face group at once.
        unnamed.photos.sort_by_key(|(index, photo)| {
            (photo.face_group.is_none(), photo.face_group.clone(), *index)
        });
        groups.push(unnamed);
    }
    groups
}

/// The derivative with the fewest pixels: the tile image.
fn smallest_output(photo: &PhotoRecord) -> Option<&OutputRecord> {
    photo
        .outputs
        .iter()
        .min_by_key(|output| u64::from(output.width) * u64::from(output.height))
}

/// The derivative with the most pixels: what a click on the tile opens.
fn largest_output(photo: &PhotoRecord) -> Option<&OutputRecord> {
    photo
        .outputs
        .iter()
        .max_by_key(|output| u64::from(output.width) * u64::from(output.height))
}

/// The page for `manifest`.
pub fn render_index(manifest: &Manifest) -> String {
    let summary = &manifest.summary;
    let groups = group_by_person(&manifest.photos);
    let mut page = String::with_capacity(4096 + manifest.photos.len() * 700);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"generator\" content=\"{generator}\">\n\
         <title>headshot review: {photos} photos</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n\
         <h1>Review <small>{photos} photos, {people} people</small></h1>\n",
        csp = escape(CONTENT_SECURITY_POLICY),
        generator = escape(&manifest.generator),
        photos = summary.photos,
        people = groups.iter().filter(|group| group.name.is_some()).count(),
    );

    // The run's summary, like the CLI's line.
    let _ = write!(
        page,
        "<p class=\"summary\" data-summary>{} photos: {} ok, <span class=\"{}\">{} failed</span>, \
         {} skipped; {} outputs written; <span class=\"{}\">{} need review</span>",
        summary.photos,
        summary.ok,
        if summary.failed > 0 { "failed" } else { "" },
        summary.failed,
        summary.skipped,
        summary.outputs_written,
        if summary.needs_review > 0 {
            "review"
        } else {
            ""
        },
        summary.needs_review,
    );
    if !summary.removed_outputs.is_empty() {
        let _ = write!(
            page,
            "; {} old outputs removed",
            summary.removed_outputs.len()
        );
    }
    let _ = writeln!(
        page,
        "; {:.1} s on {} workers.</p>",
        manifest.timing.wall_seconds, manifest.timing.jobs
    );
    let settings = &manifest.settings;
    let _ = writeln!(
        page,
        "<p class=\"muted\">export {} ({}), crop {}, tone {}, file names {}; {}</p>",
        escape(&settings.export),
        escape(&settings.derivatives.join(", ")),
        escape(&settings.crop),
        escape(&settings.tone),
        escape(&settings.template),
        escape(&manifest.generator),
    );
    if !summary.removed_outputs.is_empty() {
        page.push_str("<details><summary>Removed outputs</summary><ul>\n");
        for removed in &summary.removed_outputs {
            let _ = writeln!(
                page,
                "<li>{} <span class=\"muted\">({}: {})</span></li>",
                escape(&removed.path),
                escape(&removed.source),
                escape(&removed.reason)
            );
        }
        page.push_str("</ul></details>\n");
    }
    if !summary.ignored_files.is_empty() {
        let _ = writeln!(
            page,
            "<details><summary>{} files ignored</summary><ul>",
            summary.ignored_files.len()
        );
        for ignored in &summary.ignored_files {
            let _ = writeln!(
                page,
                "<li>{} <span class=\"muted\">({})</span></li>",
                escape(&ignored.path),
                escape(&ignored.reason)
            );
        }
        page.push_str("</ul></details>\n");
    }
    if groups.len() > 1 {
        page.push_str("<nav>");
        for (number, group) in groups.iter().enumerate() {
            let _ = write!(
                page,
                "<a href=\"#group-{}\">{}</a> ",
                number + 1,
                escape(group.name.unwrap_or("Unnamed"))
            );
        }
        page.push_str("</nav>\n");
    }
    page.push_str("</header>\n<main>\n");

    for (number, group) in groups.iter().enumerate() {
        let _ = writeln!(
            page,
            "<section id=\"group-{}\" data-group=\"{}\">\n<h2>{} <small>{} photo{}</small></h2>\n<ul class=\"grid\">",
            number + 1,
            escape(group.name.unwrap_or("")),
            escape(group.name.unwrap_or("Unnamed")),
            group.photos.len(),
            if group.photos.len() == 1 { "" } else { "s" },
        );
        for (index, photo) in &group.photos {
            render_tile(&mut page, *index, photo);
        }
        page.push_str("</ul>\n</section>\n");
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn render_tile(page: &mut String, index: usize, photo: &PhotoRecord) {
    let name = photo.person.as_ref().map(|person| person.name.as_str());
    let source_name = Path::new(&photo.source)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| photo.source.clone());
    let mut classes = String::from("tile");
    if photo.status == Status::Failed {
        classes.push_str(" failed");
    }
    if photo.needs_review.is_some() {
        classes.push_str(" review");
    }
    let status = match photo.status {
        Status::Ok => "ok",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
    };
    let _ = writeln!(
        page,
        "<li class=\"{classes}\" data-photo=\"{}\" data-status=\"{status}\" data-person=\"{}\">",
        index + 1,
        escape(name.unwrap_or("")),
    );
    match (smallest_output(photo), largest_output(photo)) {
        (Some(small), Some(large)) => {
            let _ = writeln!(
                page,
                "<a href=\"{}\"><img src=\"{}\" width=\"{}\" height=\"{}\" loading=\"lazy\" alt=\"{}\"></a>",
                escape(&url_path(&large.path)),
                escape(&url_path(&small.path)),
                small.width,
                small.height,
                escape(name.unwrap_or(&source_name)),
            );
        }
        _ => {
            let why = match photo.role {
                Role::Slate => "slate",
                Role::Rejected => "rejected",
                Role::Portrait => "no image",
            };
            let _ = writeln!(page, "<div class=\"noimage\">{why}</div>");
        }
    }
    let label = match (name, &photo.face_group) {
        (Some(name), _) => name.to_string(),
        (None, Some(group)) => format!("Unnamed · {group}"),
        (None, None) => "Unnamed".to_string(),
    };
    let _ = writeln!(page, "<p class=\"name\">{}</p>", escape(&label));
    if let Some(title) = photo.title.as_deref().filter(|title| Some(*title) != name) {
        let _ = writeln!(page, "<p class=\"title\">{}</p>", escape(title));
    }
    let _ = writeln!(
        page,
        "<p class=\"source\" title=\"{}\">{}{}</p>",
        escape(&photo.source),
        escape(&source_name),
        photo
            .capture_time
            .as_deref()
            .map(|time| format!(" · {}", escape(time)))
            .unwrap_or_default(),
    );
    if photo.role == Role::Slate {
        page.push_str("<p class=\"flag\">Slate (names the photos after it)</p>\n");
    }
    if let Some(reason) = &photo.needs_review {
        let _ = writeln!(
            page,
            "<p class=\"flag review\">Needs review: {}</p>",
            escape(reason)
        );
    }
    if photo.status == Status::Failed {
        let stage = photo
            .error_stage
            .map(|stage| format!(" ({stage})"))
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<p class=\"flag failed\">Failed{}: {}</p>",
            escape(&stage),
            escape(photo.error.as_deref().unwrap_or("unknown error"))
        );
    }
    if photo.status == Status::Skipped {
        page.push_str("<p class=\"flag skipped\">Unchanged since the last run</p>\n");
    }
    if !photo.outputs.is_empty() {
        page.push_str("<ul class=\"files\">\n");
        for output in &photo.outputs {
            let _ = writeln!(
                page,
                "<li><a href=\"{}\" title=\"{}\">{}</a><span class=\"muted\">{}×{}, {}</span></li>",
                escape(&url_path(&output.path)),
                escape(&output.path),
                escape(&output.derivative),
                output.width,
                output.height,
                human_bytes(output.bytes),
            );
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</li>\n");
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A relative output path as a URL path: every byte but unreserved ones and `/` percent-encoded,
/// so spaces, `#`, `?`, `%` and non-ASCII names link to the right file from disk or a server.
pub fn url_path(relative: &str) -> String {
    let mut url = String::with_capacity(relative.len());
    for byte in relative.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            url.push(byte as char);
        } else {
            let _ = write!(url, "%{byte:02X}");
        }
    }
    url
}

fn human_bytes(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{} KB", bytes.div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::OutputFormat;
    use crate::manifest::{
        CropRecord, Exposure, PresetsUsed, Settings, Summary, Timing, MANIFEST_VERSION,
    };
    use crate::names::Person;

    fn photo(source: &str, person: Option<&str>, sizes: &[(&str, u32)]) -> PhotoRecord {
        PhotoRecord {
            source: source.to_string(),
            status: Status::Ok,
            error: None,
            error_stage: None,
            warnings: Vec::new(),
            format: None,
            width: Some(3000),
            height: Some(2000),
            orientation: 1,
            capture_time: None,
            camera: None,
            camera_id: None,
            lens: None,
            exposure: Exposure::default(),
            presets: PresetsUsed {
                crop: "original".into(),
                tone: "neutral".into(),
                export: "web".into(),
            },
            crop: None,
            needs_review: None,
            role: Role::Portrait,
            person: person.map(Person::named),
            assigned_by: None,
            person_seq: None,
            faces: Vec::new(),
            face_group: None,
            face_exposure_ev: None,
            title: None,
            caption: None,
            keywords: Vec::new(),
            outputs: sizes
                .iter()
                .map(|(path, long_edge)| OutputRecord {
                    derivative: path.split('_').next_back().unwrap_or("x").into(),
                    path: path.to_string(),
                    width: *long_edge,
                    height: long_edge * 2 / 3,
                    bytes: 1234,
                    format: OutputFormat::Jpeg,
                    quality: 85,
                    crop: CropRecord {
                        x: 0,
                        y: 0,
                        width: 3000,
                        height: 2000,
                        rotation_degrees: 0.0,
                        anchor: "center".into(),
                    },
                })
                .collect(),
            source_xxh3: None,
        }
    }

    fn manifest(photos: Vec<PhotoRecord>) -> Manifest {
        Manifest {
            schema: "headshot-manifest",
            version: MANIFEST_VERSION,
            generator: "headshot test".into(),
            settings: Settings {
                crop: "original".into(),
                tone: "neutral".into(),
                export: "web".into(),
                template: "{stem}_{derivative}.{ext}".into(),
                derivatives: vec!["large".into(), "thumb".into()],
            },
            summary: Summary {
                photos: photos.len(),
                ..Summary::default()
            },
            timing: Timing::default(),
            review: None,
            photos,
        }
    }

    #[test]
    fn escapes_everything_from_the_manifest() {
        let page = render_index(&manifest(vec![photo(
            "shoot/<b>.jpg",
            Some("<script>alert('x')</script> & O'Brien \"Jr\""),
            &[("a&b_thumb", 400)],
        )]));
        assert!(!page.contains("<script>"));
        assert!(!page.contains("<b>"));
        assert!(page.contains(
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; O&#39;Brien &quot;Jr&quot;"
        ));
        assert!(page.contains("src=\"a%26b_thumb\""));
    }

    #[test]
    fn groups_people_in_order_of_first_photo_and_unnamed_last() {
        let photos = vec![
            photo("1.jpg", None, &[]),
            photo("2.jpg", Some("Zoë"), &[]),
            photo("3.jpg", Some("Ada"), &[]),
            photo("4.jpg", Some("Zoë"), &[]),
        ];
        let groups = group_by_person(&photos);
        let names: Vec<Option<&str>> = groups.iter().map(|group| group.name).collect();
        assert_eq!(names, [Some("Zoë"), Some("Ada"), None]);
        let zoe: Vec<usize> = groups[0].photos.iter().map(|(index, _)| *index).collect();
        assert_eq!(zoe, [1, 3]);
        let page = render_index(&manifest(photos));
        assert_eq!(page.matches("data-photo=").count(), 4);
        let zoe_at = page.find("data-group=\"Zoë\"").unwrap();
        let unnamed_at = page.find("data-group=\"\"").unwrap();
        assert!(zoe_at < page.find("data-group=\"Ada\"").unwrap());
        assert!(page.find("data-group=\"Ada\"").unwrap() < unnamed_at);
    }

    #[test]
    fn tile_shows_the_smallest_derivative_and_links_every_one() {
        let record = photo(
            "a.jpg",
            Some("Ada"),
            &[("a_large", 2048), ("a_thumb", 400), ("a_medium", 1024)],
        );
        assert_eq!(smallest_output(&record).unwrap().path, "a_thumb");
        let page = render_index(&manifest(vec![record]));
        assert!(page.contains("<a href=\"a_large\"><img src=\"a_thumb\""));
        for path in ["a_large", "a_thumb", "a_medium"] {
            assert!(page.contains(&format!("<li><a href=\"{path}\"")), "{path}");
        }
    }

    #[test]
    fn flags_failures_with_their_error_and_review_reasons() {
        let mut failed = photo("broken.jpg", None, &[]);
        failed.status = Status::Failed;
        failed.error = Some("file is truncated: <image data> ends early".into());
        failed.error_stage = Some(crate::error::Stage::Decode);
        let mut review = photo("b.jpg", Some("Bo"), &[("b_thumb", 400)]);
        review.needs_review = Some("no face found".into());
        let page = render_index(&manifest(vec![failed, review]));
        assert!(page.contains("class=\"tile failed\""));
        assert!(
            page.contains("Failed (decode): file is truncated: &lt;image data&gt; ends early</p>")
        );
        assert!(page.contains("class=\"tile review\""));
        assert!(page.contains("Needs review: no face found"));
    }

    #[test]
    fn url_paths_are_percent_encoded() {
        assert_eq!(url_path("2025/a b#1?.jpg"), "2025/a%20b%231%3F.jpg");
        assert_eq!(url_path("Zoë_100%.jpg"), "Zo%C3%AB_100%25.jpg");
    }
}
