//! Names through `headshot run` on real photos: the four layouts end to end, clock offsets and
//! sub-second times, slates made here and placed among real photos, `{name}` in templates,
//! `--by-person`, sidecars, the shoot file, `inspect`, `headshot slates`, and malformed sheets.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{headshot, path_arg, photo, run_shoot, slate_jpeg};
use headshot::names::{read_slate, render_card};
use serde_json::{json, Value};

const SCRIPT_NAMES: [&str; 3] = ["Stéphane Jolicoeur-Fidelia", "Seán O'Brien", "李小龍"];

/// A temp folder with `shoot/` (the photos) beside sheets and the output folder.
struct Shoot {
    dir: tempfile::TempDir,
}

impl Shoot {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("shoot")).unwrap();
        Self { dir }
    }

    /// Five camera photos with capture times; capture order: D70 2008-03-15 09:52:01,
    /// K10D 2008-05-04 16:47:24, 40D 2008-05-30 15:56:01.00, DSCN0010 2008-10-22 16:28:39,
    /// Pixel 2018-07-25 16:34:23.935476.
    fn cameras(corpus: &Path) -> Self {
        let shoot = Self::new();
        for (source, destination) in [
            ("exif/Nikon_D70.jpg", "day-a/Nikon_D70.jpg"),
            ("exif/Pentax_K10D.jpg", "day-a/Pentax_K10D.jpg"),
            ("exif/Canon_40D.jpg", "day-a/Canon_40D.jpg"),
            ("exif/DSCN0010.jpg", "day-b/DSCN0010.jpg"),
            (
                "exif/Google_Pixel_IMG_20180725_163423-tiny.jpg",
                "day-b/Pixel.jpg",
            ),
        ] {
            shoot.copy(corpus, source, destination);
        }
        shoot
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("shoot")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn copy(&self, corpus: &Path, source: &str, destination: &str) {
        let target = self.root().join(destination);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(corpus.join(source), target).unwrap();
    }

    /// Gives every photo of the shoot one camera body (one make, model and serial), so slates and
    /// `first_file` rows reach across the fixture's camera models; `false` without exiftool.
    fn one_camera(&self) -> bool {
        if !common::tool_available("exiftool", "-ver") {
            return false;
        }
        common::exiftool_set(
            &[&self.root()],
            &[
                "-Make=Fixture",
                "-Model=One",
                "-ExifIFD:SerialNumber=FIXTURE-1",
            ],
        );
        true
    }

    /// Writes a file beside the shoot (a sheet or roster) and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, extra: &[&str]) -> (i32, Value) {
        run_shoot(&[&self.root()], &self.out(), extra)
    }

    /// Every file under the output folder, relative, with `/`, sorted.
    fn outputs(&self) -> Vec<String> {
        let mut files = Vec::new();
        let mut folders = vec![self.out()];
        while let Some(folder) = folders.pop() {
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.ends_with(".headshot") {
                    // The run's own cache and staging, not outputs.
                    continue;
                }
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(self.out()).unwrap();
                    files.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        files.sort();
        files
    }
}

fn person_name(manifest: &Value, file_name: &str) -> Option<String> {
    photo(manifest, file_name)["person"]["name"]
        .as_str()
        .map(str::to_string)
}

fn output_paths(manifest: &Value, file_name: &str) -> Vec<String> {
    photo(manifest, file_name)["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|output| output["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn file_layout_names_photos_files_and_the_review() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    let sheet = shoot.write(
        "names.csv",
        "file,name,company,tags\n\
         day-a/Canon_40D.jpg,Stéphane Jolicoeur-Fidelia,Acme,speaker; keynote\n\
         Nikon_D70.jpg,Seán O'Brien,,\n\
         day-b\\Pixel.jpg,李小龍,Kung Fu Ltd,\n\
         day-c/IMG_9999.jpg,Nobody Here,,\n",
    );
    let (code, manifest) = shoot.run(&[
        "--names",
        path_arg(&sheet),
        "--template",
        "{name}/{name}_{person_seq}_{derivative}.{ext}",
        "--event",
        "RustConf",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        person_name(&manifest, "Canon_40D.jpg").as_deref(),
        Some(SCRIPT_NAMES[0])
    );
    let sean = photo(&manifest, "Nikon_D70.jpg");
    assert_eq!(sean["person"]["name"], SCRIPT_NAMES[1]);
    assert_eq!(sean["role"], "portrait");
    assert_eq!(sean["person_seq"], 1);
    assert_eq!(
        sean["assigned_by"],
        json!({"layout": "file", "sheet": path_arg(&sheet), "line": 3})
    );
    let bruce = photo(&manifest, "Pixel.jpg");
    assert_eq!(bruce["person"]["company"], "Kung Fu Ltd");
    assert!(photo(&manifest, "DSCN0010.jpg")["person"].is_null());

    // File names carry the slug; the manifest keeps the real name beside them.
    assert_eq!(
        output_paths(&manifest, "Canon_40D.jpg"),
        [
            "stephane-jolicoeur-fidelia/stephane-jolicoeur-fidelia_01_large.jpg",
            "stephane-jolicoeur-fidelia/stephane-jolicoeur-fidelia_01_thumb.jpg"
        ]
    );
    assert_eq!(
        output_paths(&manifest, "Nikon_D70.jpg")[0],
        "sean-obrien/sean-obrien_01_large.jpg"
    );
    // Any script is transliterated for the file name; the manifest keeps the exact name.
    assert_eq!(
        output_paths(&manifest, "Pixel.jpg")[0],
        "li-xiao-long/li-xiao-long_01_large.jpg"
    );
    assert_eq!(bruce["person"]["name"], SCRIPT_NAMES[2]);
    // Unnamed photos share a name; collisions are numbered in capture order.
    assert_eq!(
        output_paths(&manifest, "Pentax_K10D.jpg")[0],
        "unnamed/unnamed_00_large.jpg"
    );
    assert_eq!(
        output_paths(&manifest, "DSCN0010.jpg")[0],
        "unnamed/unnamed_00_large-2.jpg"
    );
    for path in shoot.outputs() {
        assert!(path.is_ascii(), "{path}");
    }

    let review = &manifest["review"];
    assert_eq!(
        unnamed_photos(&manifest),
        ["day-a/Pentax_K10D.jpg", "day-b/DSCN0010.jpg"]
    );
    assert_eq!(
        review["missing_files"],
        json!([{"line": 5, "file": "day-c/IMG_9999.jpg"}])
    );
    assert_eq!(review["names_without_photos"][0]["name"], "Nobody Here");
}

#[test]
fn first_file_layout_with_by_person_folders() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    if !shoot.one_camera() {
        return;
    }
    let sheet = shoot.write(
        "signup.tsv",
        "first_file\tname\n\
         Pentax_K10D.jpg\tSeán O'Brien\n\
         day-b/DSCN0010.jpg\t李小龍\n",
    );
    let (code, manifest) = shoot.run(&["--names", path_arg(&sheet), "--by-person"]);
    assert_eq!(code, 0);
    let names: Vec<Option<String>> = [
        "Nikon_D70.jpg",
        "Pentax_K10D.jpg",
        "Canon_40D.jpg",
        "DSCN0010.jpg",
        "Pixel.jpg",
    ]
    .iter()
    .map(|file| person_name(&manifest, file))
    .collect();
    let (sean, bruce) = (
        Some(SCRIPT_NAMES[1].to_string()),
        Some("李小龍".to_string()),
    );
    assert_eq!(
        names,
        [None, sean.clone(), sean, bruce.clone(), bruce.clone()]
    );
    assert_eq!(photo(&manifest, "Canon_40D.jpg")["person_seq"], 2);
    assert_eq!(
        photo(&manifest, "Canon_40D.jpg")["assigned_by"]["layout"],
        "first_file"
    );
    assert_eq!(
        output_paths(&manifest, "Canon_40D.jpg"),
        [
            "sean-obrien/Canon_40D_large.jpg",
            "sean-obrien/Canon_40D_thumb.jpg"
        ]
    );
    assert_eq!(
        output_paths(&manifest, "Nikon_D70.jpg")[0],
        "_unnamed/Nikon_D70_large.jpg"
    );
    let folders: std::collections::BTreeSet<String> = shoot
        .outputs()
        .iter()
        .filter_map(|path| path.split_once('/').map(|(folder, _)| folder.to_string()))
        .collect();
    let bruce_folder = headshot::naming::slug("李小龍");
    let expected: std::collections::BTreeSet<String> = [
        "_unnamed".to_string(),
        "sean-obrien".to_string(),
        bruce_folder,
    ]
    .into_iter()
    .collect();
    assert_eq!(folders, expected);
}

#[test]
fn time_layout_with_clock_offset_and_subseconds() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    let sheet = shoot.write(
        "log.csv",
        "time,name\n\
         2008-03-15 09:51:00,Ann\n\
         2018-07-25 16:32:20,Bob\n\
         2018-07-25 16:34:23.9,Cy\n\
         2018-07-25 16:34:23.95,Dee\n",
    );
    let run = |offset: Option<&str>| {
        let mut args = vec!["--names", path_arg(&sheet), "--max-gap", "1h"];
        let offset_arg;
        if let Some(offset) = offset {
            offset_arg = format!("--clock-offset={offset}");
            args.push(&offset_arg);
        }
        let (code, manifest) = shoot.run(&args);
        assert_eq!(code, 0);
        let names: Vec<Option<String>> = ["Nikon_D70.jpg", "Canon_40D.jpg", "Pixel.jpg"]
            .iter()
            .map(|file| person_name(&manifest, file))
            .collect();
        (names, manifest)
    };
    let name = |text: &str| Some(text.to_string());
    // Pixel at 16:34:23.935476: after Cy's 23.9, before Dee's 23.95. The 40D is weeks after Ann.
    let (names, manifest) = run(None);
    assert_eq!(names, [name("Ann"), None, name("Cy")]);
    assert_eq!(
        photo(&manifest, "Pixel.jpg")["assigned_by"],
        json!({"layout": "time", "sheet": path_arg(&sheet), "line": 4})
    );
    let reasons: Vec<&str> = manifest["review"]["unnamed_photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["reason"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().all(|r| *r == "too_long_after_entry"),
        "{reasons:?}"
    );
    // 50 ms later crosses Dee's entry.
    assert_eq!(
        run(Some("+00:00:00.05")).0,
        [name("Ann"), None, name("Dee")]
    );
    // A camera two minutes fast: the D70 falls before Ann's entry, the Pixel back to Bob.
    let (names, manifest) = run(Some("-00:02:00"));
    assert_eq!(names, [None, None, name("Bob")]);
    assert_eq!(
        photo(&manifest, "Nikon_D70.jpg")["person"],
        Value::Null,
        "before the first entry"
    );
}

fn bare_qr(payload: &str) -> image::GrayImage {
    let code = qrcode::QrCode::new(payload.as_bytes()).unwrap();
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let module_px = 12;
    let side = (modules + 8) * module_px;
    image::GrayImage::from_fn(side, side, |x, y| {
        let (column, row) = (x / module_px, y / module_px);
        let dark = (4..modules + 4).contains(&column)
            && (4..modules + 4).contains(&row)
            && colors[((row - 4) * modules + column - 4) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 20 } else { 245 }])
    })
}

#[test]
fn slates_placed_among_real_photos_name_the_frames_after_them() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    let roster = shoot.write(
        "roster.csv",
        "id,name,company\nA1,Seán O'Brien,Acme\nB2,李小龍,\nC3,Stéphane Jolicoeur-Fidelia,\n",
    );
    let card = |id: &str, name: &str| render_card(id, name, 1200).unwrap().image;
    let slates = [
        // Before the D70: Seán owns the D70 and the K10D.
        (
            "day-a/slate-1.jpg",
            card("A1", "Seán O'Brien"),
            "2008:03:01 10:00:00",
        ),
        // Between the K10D and the 40D: a code the roster lacks leaves the 40D unnamed.
        (
            "day-a/slate-2.jpg",
            bare_qr("ZZ-404"),
            "2008:05:20 12:00:00",
        ),
        // Between the 40D and DSCN0010: 李小龍 owns DSCN0010 and the Pixel.
        (
            "day-b/slate-3.jpg",
            card("B2", "李小龍"),
            "2008:06:01 09:00:00",
        ),
    ];
    for (file, card, time) in slates {
        let path = shoot.root().join(file);
        fs::write(&path, slate_jpeg(&corpus, card, time)).unwrap();
    }
    if !shoot.one_camera() {
        return;
    }
    let (code, manifest) = shoot.run(&["--slates", "--roster", path_arg(&roster)]);
    assert_eq!(code, 0);

    for slate in ["slate-1.jpg", "slate-2.jpg", "slate-3.jpg"] {
        let record = photo(&manifest, slate);
        assert_eq!(record["role"], "slate", "{slate}");
        assert_eq!(record["status"], "ok", "{slate}");
        assert_eq!(record["outputs"], json!([]), "{slate}");
    }
    assert_eq!(photo(&manifest, "slate-1.jpg")["person"]["id"], "A1");
    let names: Vec<Option<String>> = [
        "Nikon_D70.jpg",
        "Pentax_K10D.jpg",
        "Canon_40D.jpg",
        "DSCN0010.jpg",
        "Pixel.jpg",
    ]
    .iter()
    .map(|file| person_name(&manifest, file))
    .collect();
    let (sean, bruce) = (
        Some(SCRIPT_NAMES[1].to_string()),
        Some("李小龍".to_string()),
    );
    assert_eq!(names, [sean.clone(), sean, None, bruce.clone(), bruce]);
    assert_eq!(
        photo(&manifest, "Pentax_K10D.jpg")["assigned_by"],
        json!({"layout": "slate", "slate": "day-a/slate-1.jpg"})
    );
    assert_eq!(
        photo(&manifest, "Pentax_K10D.jpg")["person"]["company"],
        "Acme"
    );
    assert_eq!(photo(&manifest, "Pixel.jpg")["person_seq"], 2);
    let review = &manifest["review"];
    assert_eq!(
        review["unmatched_slates"],
        json!([{"slate": "day-a/slate-2.jpg", "payload": "ZZ-404"}])
    );
    assert_eq!(review["names_without_photos"][0]["name"], SCRIPT_NAMES[0]);
    assert_eq!(
        review["unnamed_photos"][0]["reason"]["reason"],
        "after_unmatched_slate"
    );
    // Five portraits, two derivatives each; nothing from the slates.
    let images: Vec<String> = shoot
        .outputs()
        .into_iter()
        .filter(|path| path.ends_with(".jpg"))
        .collect();
    assert_eq!(images.len(), 10, "{images:?}");
    assert!(
        images.iter().all(|path| !path.contains("slate")),
        "{images:?}"
    );
    assert_eq!(manifest["summary"]["outputs_written"], 10);
}

#[test]
fn a_photo_that_cannot_be_read_is_listed_as_failed_not_as_unnamed() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    // A JPEG's first bytes and nothing after them, as a pulled card leaves a file.
    fs::write(
        shoot.root().join("day-a/pulled.jpg"),
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
    )
    .unwrap();
    let (code, manifest) = shoot.run(&["--slates"]);
    assert_eq!(code, 1, "one photo failed");
    assert_eq!(photo(&manifest, "pulled.jpg")["status"], "failed");
    let unnamed = unnamed_photos(&manifest);
    // No slate at all: every readable portrait waits for a name, the unreadable one does not.
    assert!(unnamed.contains(&"day-a/Nikon_D70.jpg"), "{unnamed:?}");
    assert!(!unnamed.contains(&"day-a/pulled.jpg"), "{unnamed:?}");
}

#[test]
fn a_failed_frame_keeps_its_person_number_so_names_do_not_move_when_it_is_fixed() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    if !shoot.one_camera() {
        return;
    }
    // A copy of the K10D frame cut short, as a pulled card leaves it: same capture time, so in
    // capture order (then path) it sits between Ann's K10D and 40D frames.
    let pulled_path = shoot.root().join("day-a/Pentax_K10D_pulled.jpg");
    let whole = fs::read(shoot.root().join("day-a/Pentax_K10D.jpg")).unwrap();
    fs::write(&pulled_path, &whole[..whole.len() * 2 / 3]).unwrap();
    let sheet = shoot.write("signup.csv", "first_file,name\nPentax_K10D.jpg,Ann Lee\n");
    let files = [
        "Pentax_K10D.jpg",
        "Pentax_K10D_pulled.jpg",
        "Canon_40D.jpg",
        "Pixel.jpg",
    ];
    let numbers = |manifest: &Value| -> Vec<Value> {
        files
            .iter()
            .map(|file| photo(manifest, file)["person_seq"].clone())
            .collect()
    };
    let (code, manifest) = shoot.run(&["--names", path_arg(&sheet)]);
    assert_eq!(code, 1, "one photo failed");
    assert_eq!(
        photo(&manifest, "Pentax_K10D_pulled.jpg")["status"],
        "failed"
    );
    // The failed frame holds number 2: `{person_seq}` names show the gap where it belongs.
    assert_eq!(numbers(&manifest), [1, 2, 3, 5]);
    assert_eq!(
        unnamed_photos(&manifest),
        ["day-a/Nikon_D70.jpg"],
        "before the first row"
    );

    // Copied again whole: it takes its number, and no other frame's name moves.
    fs::write(&pulled_path, &whole).unwrap();
    let (code, manifest) = shoot.run(&["--names", path_arg(&sheet)]);
    assert_eq!(code, 0);
    assert_eq!(numbers(&manifest), [1, 2, 3, 5]);
}

#[test]
fn two_cameras_interleaved_each_name_their_own_frames() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = Shoot::new();
    let card = |name: &str| render_card(name, name, 1200).unwrap().image;
    // (camera serial, file, slate name or corpus photo, capture time): in capture order the
    // two cameras interleave, so each camera's frames follow the other's slate.
    let frames = [
        ("A-111", "a/slate-obama.jpg", None, "2024:05:03 10:00:00"),
        ("B-222", "b/slate-kit.jpg", None, "2024:05:03 10:00:05"),
        (
            "A-111",
            "a/A1.jpg",
            Some("faces/obama.jpg"),
            "2024:05:03 10:00:10",
        ),
        (
            "B-222",
            "b/B1.jpg",
            Some("faces/johnsnow_test1.jpg"),
            "2024:05:03 10:00:20",
        ),
        (
            "A-111",
            "a/A2.jpg",
            Some("faces/obama-720p_letterboxed.jpg"),
            "2024:05:03 10:00:30",
        ),
        ("B-222", "b/slate-rose.jpg", None, "2024:05:03 10:00:35"),
        (
            "A-111",
            "a/A3.jpg",
            Some("faces/biden.jpg"),
            "2024:05:03 10:00:40",
        ),
        (
            "B-222",
            "b/B2.jpg",
            Some("faces/rose_leslie_img2.jpg"),
            "2024:05:03 10:00:50",
        ),
    ];
    let slate_names = [
        ("a/slate-obama.jpg", "Barack Obama"),
        ("b/slate-kit.jpg", "Kit Harington"),
        ("b/slate-rose.jpg", "Rose Leslie"),
    ];
    for (serial, file, source, time) in frames {
        match source {
            Some(source) => shoot.copy(&corpus, source, file),
            None => {
                let name = slate_names.iter().find(|(f, _)| *f == file).unwrap().1;
                let path = shoot.root().join(file);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, slate_jpeg(&corpus, card(name), time)).unwrap();
            }
        }
        let serial_tag = format!("-ExifIFD:SerialNumber={serial}");
        let time_tag = format!("-DateTimeOriginal={time}");
        common::exiftool_set(
            &[&shoot.root().join(file)],
            &[&serial_tag, &time_tag, "-Make=Canon", "-Model=Canon EOS R6"],
        );
    }
    let (code, manifest) = shoot.run(&["--slates"]);
    assert_eq!(code, 0, "{manifest}");
    for (file, expected) in [
        ("A1.jpg", "Barack Obama"),
        ("A2.jpg", "Barack Obama"),
        ("A3.jpg", "Barack Obama"),
        ("B1.jpg", "Kit Harington"),
        ("B2.jpg", "Rose Leslie"),
    ] {
        assert_eq!(
            person_name(&manifest, file).as_deref(),
            Some(expected),
            "{file}"
        );
    }
    assert_eq!(
        photo(&manifest, "A2.jpg")["assigned_by"],
        json!({"layout": "slate", "slate": "a/slate-obama.jpg"})
    );
    assert_eq!(photo(&manifest, "A3.jpg")["person_seq"], 3);
    assert_eq!(
        photo(&manifest, "A1.jpg")["camera_id"],
        "Canon EOS R6 #A-111"
    );
    assert_eq!(
        photo(&manifest, "B2.jpg")["camera_id"],
        "Canon EOS R6 #B-222"
    );

    // A first_file sheet: a row names the frames after it on its own camera.
    let sheet = shoot.write(
        "signup.csv",
        "first_file,name\na/slate-obama.jpg,Barack Obama\nb/slate-kit.jpg,Kit Harington\n",
    );
    let (code, manifest) = shoot.run(&["--names", path_arg(&sheet)]);
    assert_eq!(code, 0, "{manifest}");
    assert_eq!(
        person_name(&manifest, "A2.jpg").as_deref(),
        Some("Barack Obama")
    );
    assert_eq!(
        person_name(&manifest, "B2.jpg").as_deref(),
        Some("Kit Harington")
    );

    let inspect = headshot(&["inspect", path_arg(&shoot.root().join("b/B1.jpg"))]);
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains("Canon EOS R6 #B-222"), "{text}");
}

#[test]
fn malformed_sheets_stop_the_run_with_the_line_and_write_nothing() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    let cases = [
        (
            "missing-name.csv",
            "file,email\nNikon_D70.jpg,a@example.org\n",
            "missing-name.csv:1:",
            "no `name` column",
        ),
        (
            "unknown.csv",
            "photo,name\nNikon_D70.jpg,Ann\n",
            "unknown.csv:1:",
            "unknown layout",
        ),
        (
            "bad-time.csv",
            "time,name\n09:00:00,Ann\n9h30,Bob\n",
            "bad-time.csv:3:",
            "9h30",
        ),
        (
            "duplicate.csv",
            "file,name\nNikon_D70.jpg,Ann\nCanon_40D.jpg,Bob\nNikon_D70.jpg,Cy\n",
            "duplicate.csv:4:",
            "lines 2 and 4",
        ),
        // Two spellings of one photo: an error naming both lines.
        (
            "same-photo.csv",
            "file,name\nday-a/Nikon_D70.jpg,Ann\nNikon_D70.jpg,Bob\n",
            "same-photo.csv:3:",
            "line 2",
        ),
    ];
    for (file_name, text, location, needle) in cases {
        let sheet = shoot.write(file_name, text);
        let out = shoot.out();
        let output = headshot(&[
            "run",
            path_arg(&shoot.root()),
            "--out",
            path_arg(&out),
            "--names",
            path_arg(&sheet),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{file_name}: {stderr}");
        assert!(
            stderr.contains(location) && stderr.contains(needle),
            "{file_name}: {stderr}"
        );
        assert!(!out.exists(), "{file_name}: nothing is written");
    }
    // A caption naming a column the sheet lacks is caught up front too.
    let sheet = shoot.write("ok.csv", "file,name,company\nNikon_D70.jpg,Ann,Acme\n");
    let output = headshot(&[
        "run",
        path_arg(&shoot.root()),
        "--out",
        path_arg(&shoot.out()),
        "--names",
        path_arg(&sheet),
        "--caption",
        "{name} of {team}",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("{team}") && stderr.contains("{company}"),
        "{stderr}"
    );
    assert!(!shoot.out().exists());
}

#[test]
fn sidecars_mirror_the_shoot_and_originals_stay_untouched() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    let originals: Vec<(PathBuf, Vec<u8>)> = ["day-a/Nikon_D70.jpg", "day-b/Pixel.jpg"]
        .iter()
        .map(|file| {
            let path = shoot.root().join(file);
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    let sheet = shoot.write(
        "names.csv",
        "file,name,company\nNikon_D70.jpg,Seán O'Brien,O'Brien & Sons\nPixel.jpg,李小龍,\n",
    );
    let (code, _) = shoot.run(&[
        "--names",
        path_arg(&sheet),
        "--sidecars",
        "--event",
        "RustConf",
        "--caption",
        "{name} ({company}) at {event}",
    ]);
    assert_eq!(code, 0);
    let sidecars: Vec<String> = shoot
        .outputs()
        .into_iter()
        .filter(|path| path.ends_with(".xmp"))
        .collect();
    assert_eq!(
        sidecars,
        [
            "sidecars/day-a/Canon_40D.xmp",
            "sidecars/day-a/Nikon_D70.xmp",
            "sidecars/day-a/Pentax_K10D.xmp",
            "sidecars/day-b/DSCN0010.xmp",
            "sidecars/day-b/Pixel.xmp",
        ]
    );
    let sean = fs::read_to_string(shoot.out().join("sidecars/day-a/Nikon_D70.xmp")).unwrap();
    assert!(
        sean.contains("<rdf:li xml:lang=\"x-default\">Seán O&apos;Brien (O&apos;Brien &amp; Sons) at RustConf</rdf:li>"),
        "{sean}"
    );
    let bruce = fs::read_to_string(shoot.out().join("sidecars/day-b/Pixel.xmp")).unwrap();
    assert!(bruce.contains(">李小龍 at RustConf<"), "{bruce}");
    for (path, bytes) in originals {
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
    if common::tool_available("exiftool", "-ver") {
        let output = std::process::Command::new("exiftool")
            .args(["-json", "-XMP-dc:Title", "-XMP-iptcExt:PersonInImage"])
            .arg(shoot.out().join("sidecars/day-b/Pixel.xmp"))
            .output()
            .unwrap();
        let tags: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(tags[0]["Title"], "李小龍");
        assert_eq!(tags[0]["PersonInImage"], "李小龍");
    }
}

#[test]
fn the_shoot_file_names_the_sheet_relative_to_itself() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    fs::create_dir_all(shoot.root().join("sheets")).unwrap();
    fs::write(
        shoot.root().join("sheets/log.csv"),
        "time,name,company\n2018-07-25 16:34:23.95,Dee,Acme\n",
    )
    .unwrap();
    fs::write(
        shoot.root().join("headshot.toml"),
        "event = \"RustConf\"\nnames = \"sheets/log.csv\"\nclock_offset = \"+00:00:00.05\"\nmax_gap = \"10s\"\ncaption = \"{name} of {company}\"\n",
    )
    .unwrap();
    let (code, manifest) = shoot.run(&[]);
    assert_eq!(code, 0);
    assert_eq!(person_name(&manifest, "Pixel.jpg").as_deref(), Some("Dee"));
    assert_eq!(person_name(&manifest, "DSCN0010.jpg"), None);

    // Unknown keys are still refused, with the line.
    fs::write(
        shoot.root().join("headshot.toml"),
        "event = \"X\"\nnamez = \"a.csv\"\n",
    )
    .unwrap();
    let output = headshot(&[
        "run",
        path_arg(&shoot.root()),
        "--out",
        path_arg(&shoot.dir.path().join("out2")),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("headshot.toml:2") && stderr.contains("namez"),
        "{stderr}"
    );
}

#[test]
fn inspect_says_who_and_why() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    if !shoot.one_camera() {
        return;
    }
    let sheet = shoot.write(
        "signup.csv",
        "first_file,name,company\nday-a/Pentax_K10D.jpg,Seán O'Brien,Acme\n",
    );
    let file = shoot.root().join("day-a/Canon_40D.jpg");
    let output = headshot(&[
        "inspect",
        path_arg(&file),
        "--names",
        path_arg(&sheet),
        "--shoot",
        path_arg(&shoot.root()),
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("person       Seán O'Brien (company: Acme)"),
        "{text}"
    );
    assert!(text.contains("person seq   2"), "{text}");
    assert!(
        text.contains(&format!(
            "assigned by  first_file layout, {} line 2",
            sheet.display()
        )),
        "{text}"
    );
    let output = headshot(&[
        "inspect",
        path_arg(&shoot.root().join("day-a/Nikon_D70.jpg")),
        "--names",
        path_arg(&sheet),
        "--shoot",
        path_arg(&shoot.root()),
        "--json",
    ]);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["naming"]["person"].is_null());
    assert_eq!(json["naming"]["unnamed"]["reason"], "before_first_row");
}

#[test]
fn slates_command_prints_cards_that_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    fs::write(
        &roster,
        "id,name\nS-1,Stéphane Jolicoeur-Fidelia\nS-2,Seán O'Brien\nS-3,李小龍\n",
    )
    .unwrap();
    let cards = dir.path().join("cards");
    let output = headshot(&[
        "slates",
        "--roster",
        path_arg(&roster),
        "--out",
        path_arg(&cards),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut files: Vec<String> = fs::read_dir(&cards)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.contains(&"all-cards.png".to_string()));
    for (id, file) in [
        ("S-1", "s-1-stephane-jolicoeur-fidelia.png"),
        ("S-2", "s-2-sean-obrien.png"),
    ] {
        let card = image::open(cards.join(file)).unwrap().to_rgb8();
        assert_eq!(read_slate(&card).as_deref(), Some(id), "{file}");
    }
    // A roster that cannot be read is a configuration error.
    fs::write(&roster, "name\nAnn\n").unwrap();
    let output = headshot(&[
        "slates",
        "--roster",
        path_arg(&roster),
        "--out",
        path_arg(&cards),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("roster.csv:1:"));
}

/// The `IFD0:Artist` exiftool reads back from a photo's first output.
fn artist_of(shoot: &Shoot, manifest: &Value, file_name: &str) -> String {
    let record = photo(manifest, file_name);
    let path = shoot
        .out()
        .join(record["outputs"][0]["path"].as_str().unwrap());
    let output = std::process::Command::new("exiftool")
        .args(["-s3", "-IFD0:Artist"])
        .arg(&path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn nested_shoot_files_credit_each_photographer_and_camera_tables_win() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = Shoot::new();
    shoot.copy(&corpus, "faces/obama.jpg", "ted/T1.jpg");
    shoot.copy(&corpus, "faces/biden.jpg", "erich/day2/E1.jpg");
    shoot.copy(&corpus, "faces/rose_leslie_img2.jpg", "erich/E2.jpg");
    common::exiftool_set(
        &[&shoot.root().join("erich/E2.jpg")],
        &["-ExifIFD:SerialNumber=LOANER-7"],
    );
    fs::write(
        shoot.root().join("ted/headshot.toml"),
        "credit = \"Ted Leung\"\n[camera.\"LOANER-7\"]\ncredit = \"Guest Photographer\"\n",
    )
    .unwrap();
    fs::write(
        shoot.root().join("erich/headshot.toml"),
        "credit = \"Erich Heine\"\ncopyright = \"CC BY 4.0\"\n",
    )
    .unwrap();
    let (code, manifest) = shoot.run(&[]);
    assert_eq!(code, 0, "{manifest}");
    assert_eq!(artist_of(&shoot, &manifest, "T1.jpg"), "Ted Leung");
    assert_eq!(artist_of(&shoot, &manifest, "E1.jpg"), "Erich Heine");
    // The loaner's table (in Ted's file) follows its camera into Erich's folder.
    assert_eq!(artist_of(&shoot, &manifest, "E2.jpg"), "Guest Photographer");
    assert!(
        manifest["ignored"]
            .to_string()
            .find("headshot.toml")
            .is_none(),
        "{}",
        manifest["ignored"]
    );
    // Flags over all.
    let (code, manifest) = shoot.run(&["--credit", "Desk"]);
    assert_eq!(code, 0);
    assert_eq!(artist_of(&shoot, &manifest, "E1.jpg"), "Desk");
}

/// The photos the manifest's review lists as having no name, as it writes them.
fn unnamed_photos(manifest: &Value) -> Vec<&str> {
    manifest["review"]["unnamed_photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["photo"].as_str().unwrap())
        .collect()
}
