//! A careless or hostile user's shoot through the real binary: link loops, two runs into one
//! gallery, and names a spreadsheet would run as formulas.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{headshot, path_arg, photo, run_shoot};

#[cfg(unix)]
#[test]
fn a_link_loop_and_a_link_outside_do_not_multiply_the_shoot() {
    use std::os::unix::fs::symlink;
    let Some(corpus) = common::corpus() else {
        return;
    };
    let top = tempfile::tempdir().unwrap();
    let shoot = top.path().join("shoot");
    let outside = top.path().join("outside");
    fs::create_dir_all(&shoot).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::copy(corpus.join("exif/Canon_40D.jpg"), shoot.join("a.jpg")).unwrap();
    fs::copy(corpus.join("exif/Nikon_D70.jpg"), shoot.join("b.jpg")).unwrap();
    fs::write(outside.join("notes.txt"), "not a photo").unwrap();
    // `loop -> ..` reaches the shoot again (and the gallery, which sits beside it).
    symlink("..", shoot.join("loop")).unwrap();
    symlink(&outside, shoot.join("outside")).unwrap();
    let out = top.path().join("gallery");

    let (code, manifest) = run_shoot(&[&shoot], &out, &[]);
    assert_eq!(code, 0, "{manifest:#}");
    assert_eq!(manifest["photos"].as_array().unwrap().len(), 2);
    assert_eq!(manifest["summary"]["outputs_written"], 4);
    let ignored = manifest["summary"]["ignored_files"].as_array().unwrap();
    let reason_of = |name: &str| {
        ignored
            .iter()
            .find(|file| file["path"].as_str().unwrap().ends_with(name))
            .map(|file| file["reason"].as_str().unwrap().to_string())
    };
    let loop_reason = reason_of("/loop").expect("the loop is reported");
    assert!(loop_reason.starts_with("link loop"), "{loop_reason}");
    assert_eq!(reason_of("notes.txt").as_deref(), Some("not an image"));
}

#[test]
fn a_second_run_into_a_held_gallery_exits_2_and_the_first_loses_nothing() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let top = tempfile::tempdir().unwrap();
    let shoot = top.path().join("shoot");
    fs::create_dir_all(&shoot).unwrap();
    // Big photos, one worker: the first run holds the folder for a few seconds.
    let photos = 6;
    for index in 0..photos {
        fs::copy(
            corpus.join("exif/canon-dslr.jpg"),
            shoot.join(format!("IMG_{index:04}.jpg")),
        )
        .unwrap();
    }
    let out = top.path().join("gallery");
    let mut first = Command::new(env!("CARGO_BIN_EXE_headshot"))
        .args(["run", path_arg(&shoot), "--out", path_arg(&out)])
        .args(["--quiet", "--jobs", "1", "--export", "gallery"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the first run starts");
    let lock = out.join(".headshot.lock");
    let pid = first.id().to_string();
    let started = Instant::now();
    while fs::read_to_string(&lock).ok().as_deref().map(str::trim) != Some(pid.as_str()) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let second = headshot(&["run", path_arg(&shoot), "--out", path_arg(&out), "--quiet"]);
    let still_running = first.try_wait().expect("first run status").is_none();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("process {pid}")), "{stderr}");
    assert!(stderr.contains(path_arg(&out)), "{stderr}");
    assert!(
        still_running,
        "the test needs the first run to outlast the second"
    );

    let first = first.wait_with_output().expect("the first run ends");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["summary"]["ok"], photos);
    assert_eq!(manifest["summary"]["failed"], 0);
    // Once the first has finished, the folder is free again.
    let (code, _) = run_shoot(&[&shoot], &out, &["--export", "gallery"]);
    assert_eq!(code, 0);
}

#[test]
fn formula_names_are_neutralised_in_the_csv_only() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let top = tempfile::tempdir().unwrap();
    let shoot = top.path().join("shoot");
    fs::create_dir_all(&shoot).unwrap();
    fs::copy(corpus.join("exif/Canon_40D.jpg"), shoot.join("a.jpg")).unwrap();
    let formula = r#"=HYPERLINK("http://x","a")"#;
    let sheet = top.path().join("names.csv");
    fs::write(
        &sheet,
        "file,name\na.jpg,\"=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\"\n",
    )
    .unwrap();
    let out = top.path().join("gallery");
    let (code, manifest) = run_shoot(&[&shoot], &out, &["--names", path_arg(&sheet)]);
    assert_eq!(code, 0, "{manifest:#}");
    let entry = photo(&manifest, "a.jpg");
    assert_eq!(
        entry["person"]["name"], formula,
        "manifest.json stays exact"
    );

    let mut reader = csv::Reader::from_path(out.join("manifest.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        for name in ["person", "title", "keywords"] {
            assert_eq!(&row[column(name)], format!("'{formula}"), "{name}");
        }
    }

    if common::tool_available("exiftool", "-ver") {
        let large = entry["outputs"][0]["path"].as_str().unwrap();
        let read = Command::new("exiftool")
            .args(["-s3", "-XMP-dc:Title", "-XMP-iptcExt:PersonInImage"])
            .arg(out.join(large))
            .output()
            .expect("exiftool runs");
        let text = String::from_utf8_lossy(&read.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines, [formula, formula], "{text}");
    }
    assert!(Path::new(&out.join("manifest.csv")).is_file());
}

#[test]
fn a_jpeg_cut_inside_its_exif_says_it_is_truncated() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let bytes = fs::read(corpus.join("exif/Canon_40D.jpg")).unwrap();
    // Inside the APP1 (EXIF) segment, which libjpeg skips: its old message was
    // "Input file read error".
    let cut = &bytes[..300];
    let error = headshot::decode::decode(cut, headshot::discover::ImageFormat::Jpeg, 1.0, 100)
        .expect_err("a cut file does not decode");
    assert!(
        matches!(error, headshot::error::PhotoError::Truncated),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "file is truncated: image data ends early"
    );
}

#[test]
fn a_missing_export_preset_named_by_headshot_toml_names_headshot_toml() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let top = tempfile::tempdir().unwrap();
    let shoot = top.path().join("shoot");
    fs::create_dir_all(&shoot).unwrap();
    fs::copy(corpus.join("exif/Canon_40D.jpg"), shoot.join("a.jpg")).unwrap();
    fs::write(
        shoot.join("headshot.toml"),
        "event = \"RustConf\"\nexport = \"x.toml\"\n",
    )
    .unwrap();
    let out = top.path().join("gallery");
    let run = headshot(&["run", path_arg(&shoot), "--out", path_arg(&out), "--quiet"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let shoot_file = shoot.join("headshot.toml");
    assert!(
        stderr.contains(&format!(
            "{}:2: export = \"x.toml\": ",
            shoot_file.display()
        )),
        "{stderr}"
    );
    assert!(!out.join("manifest.json").exists());
}
