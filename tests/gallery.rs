//! The review page in a real browser: Debian's headless chromium loads `index.html` from disk;
//! the page must log nothing to the console, show one tile per photo, show the manifest's names,
//! and link only files that exist. Also `manifest.csv` against `manifest.json`.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{corpus, make_jpeg, path_arg, run_shoot, test_picture, tool_available};
use headshot::encode::OutputFormat;
use headshot::manifest::{
    CropRecord, Exposure, Manifest, OutputRecord, PhotoRecord, PresetsUsed, Settings, Status,
    Summary, Timing, MANIFEST_VERSION,
};
use headshot::names::{Person, Role};

const CHROMIUM: &str = "chromium";

/// What chromium saw: the DOM after load, and every console message it logged.
struct PageLoad {
    dom: String,
    console: Vec<String>,
}

/// Loads `page` in headless chromium with a fresh profile; console messages (script errors,
/// Content-Security-Policy violations, `console.*`) are logged to stderr as `...:CONSOLE...` lines.
fn load_in_chromium(page: &Path) -> PageLoad {
    let profile = tempfile::tempdir().unwrap();
    let url = format!(
        "file://{}",
        fs::canonicalize(page).unwrap().to_str().unwrap()
    );
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", path_arg(profile.path())))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read both pipes on threads so a full pipe never stalls chromium.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let dom_reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).ok();
        text
    });
    let log_reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = dom_reader.join().unwrap();
    let log = log_reader.join().unwrap();
    assert!(
        dom.contains("</html>"),
        "chromium printed no DOM for {url}; its log:\n{log}"
    );
    let console = log
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    PageLoad { dom, console }
}

/// Undoes the escaping chromium's DOM serialiser applies to text and attribute values.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text of every element opening with `open` (e.g. `<p class="name">`) up to `close`.
fn texts_between(dom: &str, open: &str, close: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len()..];
        let end = after.find(close).expect("element is closed");
        found.push(unescape(&after[..end]));
        rest = &after[end..];
    }
    found
}

/// Values of attribute `name` on every element that has it.
fn attribute_values(dom: &str, name: &str) -> Vec<String> {
    texts_between(dom, &format!(" {name}=\""), "\"")
}

/// Decodes `%XX` escapes of a relative URL.
fn percent_decode(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut decoded = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            decoded.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).unwrap()
}

/// Every `src` and `href` in the page (but in-page `#` links) names a file in `folder`.
fn assert_links_exist(dom: &str, folder: &Path) {
    let mut links = attribute_values(dom, "src");
    links.extend(
        attribute_values(dom, "href")
            .into_iter()
            .filter(|href| !href.starts_with('#')),
    );
    assert!(!links.is_empty());
    for link in links {
        assert!(!link.contains(':'), "only relative links: {link}");
        let file = folder.join(percent_decode(&link));
        assert!(file.is_file(), "{link} -> {} is missing", file.display());
    }
}

fn chromium_available() -> bool {
    tool_available(CHROMIUM, "--version")
}

#[test]
fn the_console_check_catches_a_broken_page() {
    if !chromium_available() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("index.html");
    let manifest = manifest_with(vec![record("a.jpg", Some("Ada"), Vec::new())]);
    let html = headshot::gallery::render_index(&manifest);
    // A script the page's policy blocks, and one that would throw if it ran.
    let broken = html.replace("</body>", "<script>notDefinedAnywhere();</script></body>");
    fs::write(&page, broken).unwrap();
    let load = load_in_chromium(&page);
    assert!(
        !load.console.is_empty(),
        "an injected script must show up as a console error"
    );
    // The same page without the injection is clean.
    fs::write(&page, html).unwrap();
    let load = load_in_chromium(&page);
    assert!(load.console.is_empty(), "{:?}", load.console);
}

#[test]
fn a_real_run_gives_a_clean_page_with_one_tile_per_photo() {
    let Some(corpus) = corpus() else { return };
    if !chromium_available() {
        return;
    }
    let shoot = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("exif/Canon_40D.jpg", "Canon_40D.jpg"),
        ("exif/Nikon_D70.jpg", "Nikon_D70.jpg"),
        ("faces/obama.jpg", "obama.jpg"),
        // A name that must be percent-encoded in links and escaped in text.
        ("faces/biden.jpg", "O'Neil <b> é #1 100%.jpg"),
        ("exif/orientation/Landscape_6.jpg", "Landscape_6.jpg"),
    ] {
        fs::copy(corpus.join(from), shoot.path().join(to)).unwrap();
    }
    fs::write(shoot.path().join("notes.jpg"), b"not an image\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, manifest) = run_shoot(&[shoot.path()], out.path(), &["--export", "gallery"]);
    assert_eq!(code, 1, "notes.jpg fails, the rest succeed");

    let load = load_in_chromium(&out.path().join("index.html"));
    assert!(load.console.is_empty(), "console: {:#?}", load.console);
    let photos = manifest["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 6);
    let mut tile_numbers: Vec<usize> = attribute_values(&load.dom, "data-photo")
        .iter()
        .map(|number| number.parse().unwrap())
        .collect();
    tile_numbers.sort();
    assert_eq!(tile_numbers, (1..=photos.len()).collect::<Vec<_>>());

    let mut shown: Vec<String> = texts_between(&load.dom, "<p class=\"name\">", "</p>");
    let mut expected: Vec<String> = photos
        .iter()
        .map(|photo| {
            photo["person"]["name"]
                .as_str()
                .unwrap_or("Unnamed")
                .to_string()
        })
        .collect();
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected);

    let sources: Vec<String> = texts_between(&load.dom, "<p class=\"source\" title=\"", "\"");
    assert!(sources
        .iter()
        .any(|s| s.ends_with("O'Neil <b> é #1 100%.jpg")));
    assert!(!load.dom.contains("<b>"), "a file name became markup");
    assert_eq!(
        load.dom.matches("class=\"tile failed\"").count(),
        1,
        "notes.jpg is flagged"
    );
    assert!(load.dom.contains("not a JPEG, PNG or TIFF"));
    // One image per photo with outputs, each its smallest derivative.
    let mut images: Vec<String> = attribute_values(&load.dom, "src")
        .iter()
        .map(|src| percent_decode(src))
        .collect();
    let mut smallest: Vec<String> = photos
        .iter()
        .filter_map(|photo| {
            photo["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .min_by_key(|output| {
                    output["width"].as_u64().unwrap() * output["height"].as_u64().unwrap()
                })
                .map(|output| output["path"].as_str().unwrap().to_string())
        })
        .collect();
    images.sort();
    smallest.sort();
    assert_eq!(images.len(), 5);
    assert_eq!(images, smallest);
    assert_links_exist(&load.dom, out.path());
    assert!(load.dom.contains("6 photos: 5 ok,"));

    // manifest.csv: one row per output, matching manifest.json.
    let mut reader = csv::Reader::from_path(out.path().join("manifest.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.unwrap()).collect();
    let outputs: Vec<&serde_json::Value> = photos
        .iter()
        .flat_map(|photo| photo["outputs"].as_array().unwrap())
        .collect();
    assert_eq!(rows.len(), outputs.len());
    assert_eq!(rows.len(), 5 * 4, "gallery export: four derivatives");
    for (row, output) in rows.iter().zip(outputs) {
        assert_eq!(&row[6], output["path"].as_str().unwrap());
        assert_eq!(
            row[9].parse::<u64>().unwrap(),
            output["bytes"].as_u64().unwrap()
        );
        let on_disk = fs::metadata(out.path().join(&row[6])).unwrap().len();
        assert_eq!(on_disk, output["bytes"].as_u64().unwrap());
    }
}

#[test]
fn names_with_quotes_accents_and_markup_show_as_text() {
    if !chromium_available() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let names = [
        "Siobhán O'Brien",
        "Zoë Ångström-Łukasz",
        "<script>alert(1)</script>",
        "Dana \"DJ\" & Co <i>",
        "李小龍",
    ];
    let jpeg = make_jpeg(&test_picture(120, 80));
    let mut photos = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let file = format!("{index} {name}_thumb.jpg").replace(['/', '<', '>'], "_");
        fs::write(folder.path().join(&file), &jpeg).unwrap();
        photos.push(record(
            &format!("shoot/{index}.jpg"),
            Some(name),
            vec![output("thumb", &file, 120, 80)],
        ));
    }
    // A second photo of the first person, and an unnamed one, to check grouping.
    photos.push(record(
        "shoot/5.jpg",
        None,
        vec![output("thumb", "0 Siobhán O'Brien_thumb.jpg", 120, 80)],
    ));
    photos.push(record(
        "shoot/6.jpg",
        Some(names[0]),
        vec![output("thumb", "0 Siobhán O'Brien_thumb.jpg", 120, 80)],
    ));
    let manifest = manifest_with(photos);
    headshot::gallery::write_index(&manifest, folder.path()).unwrap();

    let load = load_in_chromium(&folder.path().join("index.html"));
    assert!(load.console.is_empty(), "console: {:#?}", load.console);
    assert!(!load.dom.contains("<script"), "a name became a script");
    assert!(!load.dom.contains("<i>"), "a name became markup");
    let shown = texts_between(&load.dom, "<p class=\"name\">", "</p>");
    let mut expected: Vec<&str> = vec![names[0], names[0]];
    expected.extend(&names[1..]);
    expected.push("Unnamed");
    assert_eq!(shown, expected, "grouped by person, unnamed last");
    let groups = texts_between(&load.dom, "<h2>", " <small>");
    let mut expected_groups: Vec<&str> = names.to_vec();
    expected_groups.push("Unnamed");
    assert_eq!(groups, expected_groups);
    assert_links_exist(&load.dom, folder.path());
    assert_eq!(attribute_values(&load.dom, "data-photo").len(), 7);
}

fn output(derivative: &str, path: &str, width: u32, height: u32) -> OutputRecord {
    OutputRecord {
        derivative: derivative.into(),
        path: path.into(),
        width,
        height,
        bytes: 1000,
        format: OutputFormat::Jpeg,
        quality: 85,
        crop: CropRecord {
            x: 0,
            y: 0,
            width,
            height,
            rotation_degrees: 0.0,
            anchor: "center".into(),
        },
    }
}

fn record(source: &str, person: Option<&str>, outputs: Vec<OutputRecord>) -> PhotoRecord {
    PhotoRecord {
        source: source.into(),
        status: Status::Ok,
        error: None,
        error_stage: None,
        warnings: Vec::new(),
        format: None,
        width: Some(120),
        height: Some(80),
        orientation: 1,
        capture_time: None,
        camera: None,
        camera_id: None,
        photographer: None,
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
        outputs,
        source_xxh3: None,
    }
}

fn manifest_with(photos: Vec<PhotoRecord>) -> Manifest {
    Manifest {
        schema: "headshot-manifest",
        version: MANIFEST_VERSION,
        generator: "headshot test".into(),
        settings: Settings {
            crop: "original".into(),
            tone: "neutral".into(),
            export: "web".into(),
            template: "{stem}_{derivative}.{ext}".into(),
            derivatives: vec!["thumb".into()],
        },
        summary: Summary {
            photos: photos.len(),
            ok: photos.len(),
            ..Summary::default()
        },
        timing: Timing::default(),
        review: None,
        cameras: Vec::new(),
        photos,
    }
}
