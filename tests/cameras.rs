//! Several cameras, each with its own clock: clock slates made by `headshot clock --png`, clock
//! offsets from `[camera."…"]` tables, folders' shoot files and the flag, the corrected capture
//! order, the manifest's `cameras`, the run summary, and `inspect`'s provenance lines.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{headshot, path_arg, photo};
use headshot::encode::{encode_jpeg, Chroma, Effort, EncodeSettings, OutputFormat};
use serde_json::Value;

/// Camera A's clock runs 83.4 s fast, camera B's 47.25 s slow: the corrections to add.
const OFFSET_A: f64 = -83.4;
const OFFSET_B: f64 = 47.25;

/// The desk's sign-up log, on the reference clock.
const SIGNUP: &str = "time,name\n10:01:00,Ann\n10:02:00,Bob\n10:03:00,Cy\n10:04:00,Dee\n";

/// (camera, file, corpus photo, reference time of the frame, who it is). On the cameras' own
/// clocks every portrait falls to the wrong sign-up row, and B1 comes before A1.
const PORTRAITS: [(char, &str, &str, &str, &str); 4] = [
    ('A', "a/A1.jpg", "faces/obama.jpg", "10:01:10", "Ann"),
    ('B', "b/B1.jpg", "faces/biden.jpg", "10:02:20", "Bob"),
    (
        'A',
        "a/A2.jpg",
        "faces/johnsnow_test1.jpg",
        "10:03:05",
        "Cy",
    ),
    (
        'B',
        "b/B2.jpg",
        "faces/alex_lacamoire_img1.jpg",
        "10:04:30",
        "Dee",
    ),
];

/// Clock slates: (camera, file, the reference time the code shows).
const CLOCK_SLATES: [(char, &str, &str); 2] = [
    ('A', "a/clock.jpg", "10:00:00.3"),
    ('B', "b/clock.jpg", "10:00:30.5"),
];

struct Shoot {
    dir: tempfile::TempDir,
}

impl Shoot {
    fn root(&self) -> PathBuf {
        self.dir.path().join("shoot")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn sheet(&self) -> PathBuf {
        let path = self.dir.path().join("signup.csv");
        fs::write(&path, SIGNUP).unwrap();
        path
    }

    /// `headshot run` with `extra`: (exit code, stdout, manifest).
    fn run(&self, extra: &[&str]) -> (i32, String, Value) {
        let (root, out) = (self.root(), self.out());
        let mut args = vec!["run", path_arg(&root), "--out", path_arg(&out)];
        args.extend(extra);
        let output = headshot(&args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let text = fs::read_to_string(out.join("manifest.json")).unwrap_or_else(|_| {
            panic!(
                "no manifest: {stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        let code = output.status.code().unwrap_or(-1);
        (code, stdout, serde_json::from_str(&text).unwrap())
    }
}

/// `10:01:10` on the reference clock as camera `camera`'s EXIF shows it: (date time, subsec).
fn camera_time(camera: char, reference: &str) -> (String, String) {
    let offset = if camera == 'A' { OFFSET_A } else { OFFSET_B };
    let time: jiff::civil::DateTime = format!("2024-05-03T{reference}").parse().unwrap();
    let shown = time
        .checked_sub(jiff::SignedDuration::from_secs_f64(offset))
        .unwrap();
    let centis = shown.subsec_nanosecond() / 10_000_000;
    (
        shown.strftime("%Y:%m:%d %H:%M:%S").to_string(),
        format!("{centis:02}"),
    )
}

/// A frame of a clock code held up in front of a portrait: `headshot clock --png` pasted in.
fn clock_frame(corpus: &Path, scratch: &Path, reference: &str) -> Vec<u8> {
    let png = scratch.join("clock.png");
    let at = format!("2024-05-03T{reference}+02:00");
    let output = headshot(&["clock", "--png", path_arg(&png), "--at", &at]);
    assert!(output.status.success(), "{output:?}");
    let code = image::open(&png).unwrap().to_rgb8();
    let bytes = fs::read(corpus.join("faces/rose_leslie_img2.jpg")).unwrap();
    let mut frame = headshot::decode::decode(
        &bytes,
        headshot::discover::ImageFormat::Jpeg,
        1.0,
        headshot::decode::DEFAULT_MAX_MEGAPIXELS,
    )
    .unwrap()
    .image;
    let side = frame.width().min(frame.height()) * 7 / 10;
    let code = image::imageops::resize(&code, side, side, image::imageops::FilterType::Triangle);
    let (left, top) = ((frame.width() - side) / 2, (frame.height() - side) / 2);
    image::imageops::replace(&mut frame, &code, i64::from(left), i64::from(top));
    let settings = EncodeSettings {
        format: OutputFormat::Jpeg,
        quality: 88,
        chroma: Chroma::Quarter,
        progressive: false,
        effort: Effort::Fast,
    };
    encode_jpeg(&frame, &settings, &[]).unwrap()
}

/// Two cameras (serials CAM-A, CAM-B) with clocks off by [`OFFSET_A`] and [`OFFSET_B`], four
/// portraits and, with `clock_slates`, each camera's clock slate. `None` without the corpus or
/// exiftool.
fn two_cameras(clock_slates: bool) -> Option<Shoot> {
    let corpus = common::corpus()?;
    if !common::tool_available("exiftool", "-ver") {
        return None;
    }
    let shoot = Shoot {
        dir: tempfile::tempdir().unwrap(),
    };
    let mut frames: Vec<(char, &str, &str)> = Vec::new();
    for (camera, file, source, reference, _) in PORTRAITS {
        let target = shoot.root().join(file);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(corpus.join(source), &target).unwrap();
        frames.push((camera, file, reference));
    }
    if clock_slates {
        for (camera, file, reference) in CLOCK_SLATES {
            let frame = clock_frame(&corpus, shoot.dir.path(), reference);
            fs::write(shoot.root().join(file), frame).unwrap();
            frames.push((camera, file, reference));
        }
    }
    for (camera, file, reference) in frames {
        let (date_time, subsec) = camera_time(camera, reference);
        common::exiftool_set(
            &[&shoot.root().join(file)],
            &[
                &format!("-DateTimeOriginal={date_time}"),
                &format!("-SubSecTimeOriginal={subsec}"),
                "-OffsetTimeOriginal=",
                &format!("-ExifIFD:SerialNumber=CAM-{camera}"),
                "-Make=Fixture",
                "-Model=Cam",
            ],
        );
    }
    Some(shoot)
}

fn person(manifest: &Value, file_name: &str) -> Option<String> {
    photo(manifest, file_name)["person"]["name"]
        .as_str()
        .map(str::to_string)
}

/// The manifest's entry for camera `CAM-x`.
fn camera(manifest: &Value, serial: char) -> &Value {
    let id = format!("Fixture Cam #CAM-{serial}");
    manifest["cameras"]
        .as_array()
        .expect("cameras list")
        .iter()
        .find(|camera| camera["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {}", manifest["cameras"]))
}

/// `-00:01:23.4` -> -83.4.
fn seconds(offset: &Value) -> f64 {
    let text = offset.as_str().unwrap_or_else(|| panic!("offset {offset}"));
    let (sign, body) = text.split_at(1);
    let parts: Vec<f64> = body.split(':').map(|p| p.parse().unwrap()).collect();
    let magnitude = parts[0] * 3600.0 + parts[1] * 60.0 + parts[2];
    if sign == "-" {
        -magnitude
    } else {
        magnitude
    }
}

fn assert_every_portrait_named_right(manifest: &Value) {
    for (_, file, _, _, expected) in PORTRAITS {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert_eq!(person(manifest, name).as_deref(), Some(expected), "{file}");
    }
}

#[test]
fn clock_slates_measure_each_cameras_offset_and_a_time_sheet_names_every_frame() {
    let Some(shoot) = two_cameras(true) else {
        return;
    };
    let sheet = shoot.sheet();
    // The flag loses to a camera's clock slate.
    let (code, stdout, manifest) =
        shoot.run(&["--names", path_arg(&sheet), "--clock-offset", "+00:10:00"]);
    assert_eq!(code, 0, "{stdout}\n{manifest}");
    for (serial, expected, slate) in [
        ('A', OFFSET_A, "a/clock.jpg"),
        ('B', OFFSET_B, "b/clock.jpg"),
    ] {
        let camera = camera(&manifest, serial);
        let measured = seconds(&camera["clock_offset"]);
        assert!(
            (measured - expected).abs() <= 0.2,
            "camera {serial}: measured {measured} s, set {expected} s"
        );
        assert_eq!(
            camera["clock_source"],
            format!("clock slate {slate}").as_str()
        );
        assert_eq!(camera["photos"], 3);
        let line = format!(
            "{}: 3 photos, clock {}",
            camera["id"].as_str().unwrap(),
            camera["clock_offset"].as_str().unwrap()
        );
        assert!(stdout.contains(&line), "{line:?} not in:\n{stdout}");
    }
    assert!(stdout.contains("2 cameras:"), "{stdout}");
    assert_every_portrait_named_right(&manifest);
    let clock = photo(&manifest, "clock.jpg");
    assert_eq!(clock["role"], "clock_slate");
    assert!(clock["outputs"].as_array().unwrap().is_empty());
    // Capture order is the corrected time: A1 before B1, though B1's own clock says earlier.
    let order: Vec<String> = manifest["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["source"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .filter(|name| name != "clock.jpg")
        .collect();
    assert_eq!(order, ["A1.jpg", "B1.jpg", "A2.jpg", "B2.jpg"]);
}

#[test]
fn camera_tables_folder_files_and_the_flag_set_clock_offsets_with_their_source() {
    let Some(shoot) = two_cameras(false) else {
        return;
    };
    let sheet = shoot.sheet();
    // Without offsets every portrait goes to the wrong row.
    let (code, _, manifest) = shoot.run(&["--names", path_arg(&sheet)]);
    assert_eq!(code, 0, "{manifest}");
    for (_, file, _, _, expected) in PORTRAITS {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert_ne!(person(&manifest, name).as_deref(), Some(expected), "{file}");
    }
    assert_eq!(camera(&manifest, 'A')["clock_source"], Value::Null);

    // A camera table for A (wherever its photos are), b/'s own shoot file for B.
    let top = shoot.root().join("headshot.toml");
    fs::write(
        &top,
        "event = \"PyCon\"\n\n[camera.\"CAM-A\"]\nclock_offset = \"-00:01:23.4\"\n",
    )
    .unwrap();
    let folder_b = shoot.root().join("b/headshot.toml");
    fs::write(&folder_b, "clock_offset = \"+00:00:47.25\"\n").unwrap();
    let (code, stdout, manifest) = shoot.run(&["--names", path_arg(&sheet)]);
    assert_eq!(code, 0, "{stdout}");
    assert_every_portrait_named_right(&manifest);
    assert_eq!(
        camera(&manifest, 'A')["clock_source"],
        format!("camera table \"CAM-A\" in {}:4", top.display()).as_str()
    );
    assert_eq!(
        camera(&manifest, 'B')["clock_source"],
        format!("shoot file {}:1", folder_b.display()).as_str()
    );
    assert_eq!(camera(&manifest, 'B')["clock_offset"], "+00:00:47.25");

    // The table applies to its camera only: with A's offset alone, B's frames stay wrong.
    fs::remove_file(&folder_b).unwrap();
    let (_, _, manifest) = shoot.run(&["--names", path_arg(&sheet)]);
    assert_eq!(person(&manifest, "A1.jpg").as_deref(), Some("Ann"));
    assert_eq!(person(&manifest, "B1.jpg").as_deref(), Some("Ann"));
    assert_eq!(camera(&manifest, 'B')["clock_offset"], Value::Null);

    // The flag, over every file, for every camera.
    let (_, stdout, manifest) =
        shoot.run(&["--names", path_arg(&sheet), "--clock-offset=-00:01:23.4"]);
    assert_eq!(camera(&manifest, 'B')["clock_source"], "flag");
    assert_eq!(camera(&manifest, 'B')["clock_offset"], "-00:01:23.4");
    assert!(stdout.contains("clock -00:01:23.4 (flag)"), "{stdout}");
}

/// Two photographers' folders and a loaned camera: Ted's `ted/`, Erich's `erich/` (with camera
/// CAM-E, whose table in the top file gives a copyright). `None` without corpus or exiftool.
fn two_photographers() -> Option<Shoot> {
    let corpus = common::corpus()?;
    if !common::tool_available("exiftool", "-ver") {
        return None;
    }
    let shoot = Shoot {
        dir: tempfile::tempdir().unwrap(),
    };
    for (source, file) in [
        ("faces/obama.jpg", "ted/T1.jpg"),
        ("faces/biden.jpg", "ted/T2.jpg"),
        ("faces/johnsnow_test1.jpg", "erich/E1.jpg"),
    ] {
        let target = shoot.root().join(file);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(corpus.join(source), &target).unwrap();
    }
    common::exiftool_set(
        &[&shoot.root().join("erich/E1.jpg")],
        &["-ExifIFD:SerialNumber=CAM-E", "-Make=Fixture", "-Model=Cam"],
    );
    common::exiftool_set(
        &[&shoot.root().join("ted")],
        &["-ExifIFD:SerialNumber=CAM-T", "-Make=Fixture", "-Model=Cam"],
    );
    fs::write(
        shoot.root().join("headshot.toml"),
        "event = \"PyCon\"\n\n[camera.\"CAM-E\"]\ncopyright = \"Erich Heine 2026\"\n",
    )
    .unwrap();
    fs::write(
        shoot.root().join("ted/headshot.toml"),
        "credit = \"Ted Leung\"\n",
    )
    .unwrap();
    fs::write(
        shoot.root().join("erich/headshot.toml"),
        "credit = \"Erich Heine\"\n",
    )
    .unwrap();
    Some(shoot)
}

#[test]
fn inspect_says_which_shoot_file_set_each_value() {
    let Some(shoot) = two_photographers() else {
        return;
    };
    let root = shoot.root();
    let inspect = |file: &str, extra: &[&str]| {
        let path = root.join(file);
        let mut args = vec![
            "inspect",
            path_arg(&path),
            "--shoot",
            path_arg(&root),
            "--no-faces",
        ];
        args.extend(extra);
        let output = headshot(&args);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let ted = inspect("ted/T1.jpg", &[]);
    let top = root.join("headshot.toml");
    for expected in [
        format!(
            "credit = \"Ted Leung\"  ({}:1)",
            root.join("ted/headshot.toml").display()
        ),
        format!("event = \"PyCon\"  ({}:1)", top.display()),
    ] {
        assert!(ted.contains(&expected), "{expected:?} not in:\n{ted}");
    }
    assert!(!ted.contains("copyright ="), "{ted}");
    let erich = inspect("erich/E1.jpg", &["--clock-offset", "+00:00:02"]);
    for expected in [
        format!(
            "credit = \"Erich Heine\"  ({}:1)",
            root.join("erich/headshot.toml").display()
        ),
        format!(
            "copyright = \"Erich Heine 2026\"  (camera table \"CAM-E\" in {}:4)",
            top.display()
        ),
        "clock_offset = \"+00:00:02\"  (flag)".to_string(),
    ] {
        assert!(erich.contains(&expected), "{expected:?} not in:\n{erich}");
    }
}

/// Loads `page` in headless chromium after `script` ran at the end of its body; returns the DOM.
/// The page's Content-Security-Policy is dropped from the copy so the test's script may run.
fn dom_after_script(page: &Path, script: &str) -> String {
    let html = fs::read_to_string(page).unwrap();
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let end = start + html[start..].find('>').unwrap() + 1;
    let html = format!("{}{}", &html[..start], &html[end..])
        .replace("</body>", &format!("<script>{script}</script></body>"));
    let copy = page.with_file_name("filter-test.html");
    fs::write(&copy, html).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", path_arg(profile.path())))
        .arg(format!(
            "file://{}",
            fs::canonicalize(&copy).unwrap().display()
        ))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The tiles the browser shows with the photographer button labelled `credit` checked (all
/// when `None`), as their `by …` lines.
fn visible_tiles(page: &Path, credit: Option<&str>) -> Vec<String> {
    let choose = credit
        .map(|credit| {
            format!(
                "const label = [...document.querySelectorAll('.photographers label')]\
                 .find(l => l.textContent.startsWith({credit:?}));\
                 document.getElementById(label.htmlFor).checked = true;"
            )
        })
        .unwrap_or_default();
    let script = format!(
        "{choose} document.body.dataset.visible = [...document.querySelectorAll('.tile')]\
         .filter(t => getComputedStyle(t).display !== 'none')\
         .map(t => t.querySelector('.by').textContent).join('|');"
    );
    let dom = dom_after_script(page, &script);
    let start = dom.find("data-visible=\"").expect("the script ran") + "data-visible=\"".len();
    let end = start + dom[start..].find('"').unwrap();
    let mut tiles: Vec<String> = dom[start..end].split('|').map(str::to_string).collect();
    tiles.sort();
    tiles
}

#[test]
fn manifest_and_review_page_know_each_photographer() {
    let Some(shoot) = two_photographers() else {
        return;
    };
    let (code, stdout, manifest) = shoot.run(&[]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(photo(&manifest, "T2.jpg")["photographer"], "Ted Leung");
    assert_eq!(photo(&manifest, "E1.jpg")["photographer"], "Erich Heine");
    let cameras = manifest["cameras"].as_array().unwrap();
    assert_eq!(cameras.len(), 2, "{}", manifest["cameras"]);
    assert_eq!(camera_with_id(&manifest, "Fixture Cam #CAM-T")["photos"], 2);
    let erich = camera_with_id(&manifest, "Fixture Cam #CAM-E");
    assert_eq!(erich["credit"], "Erich Heine");
    assert_eq!(erich["photos"], 1);
    assert!(stdout.contains("2 cameras:"), "{stdout}");
    assert!(
        stdout.contains("Fixture Cam #CAM-E: 1 photos, no clock offset, credit Erich Heine"),
        "{stdout}"
    );

    if !common::tool_available("chromium", "--version") {
        return;
    }
    let page = shoot.out().join("index.html");
    assert_eq!(
        visible_tiles(&page, None),
        ["by Erich Heine", "by Ted Leung", "by Ted Leung"]
    );
    assert_eq!(
        visible_tiles(&page, Some("Ted Leung")),
        ["by Ted Leung", "by Ted Leung"]
    );
    assert_eq!(
        visible_tiles(&page, Some("Erich Heine")),
        ["by Erich Heine"]
    );
}

fn camera_with_id<'m>(manifest: &'m Value, id: &str) -> &'m Value {
    manifest["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|camera| camera["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {}", manifest["cameras"]))
}

#[test]
fn the_clock_page_serves_the_current_time_as_a_code() {
    use std::io::{BufRead, Read, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_headshot"))
        .args(["clock", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let page = get("/");
    let svg = get("/code.svg");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        page.contains("fetch(\"/code.svg\"") && !page.contains("http://"),
        "{page}"
    );
    assert!(svg.contains("<svg") && svg.contains("no-store"), "{svg}");
    let shown = svg
        .lines()
        .find_map(|line| line.strip_prefix("X-Headshot-Clock: "))
        .unwrap_or_else(|| panic!("no time header in {svg}"));
    let reading =
        headshot::clock_code::ClockReading::from_payload(&format!("HEADSHOT-CLOCK {shown}"))
            .unwrap_or_else(|| panic!("{shown:?} is not a clock time"));
    let now = jiff::Zoned::now().datetime();
    let apart = now.duration_since(reading.local).abs();
    assert!(
        apart < jiff::SignedDuration::from_secs(5),
        "{shown} against {now}"
    );
}
