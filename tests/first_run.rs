//! The README's first command on the bundled sample shoot, as a new user runs it: slates name
//! the attendees, faces are framed 4:5 on the preset's eye line, names are inside the files, and
//! the frame with no face is flagged for review.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::{path_arg, tool_available};
use serde_json::Value;

/// `presets/crop/headshot-4x5.toml`: the eye midpoint's height as a fraction of the crop.
const EYE_LINE: f64 = 0.36;
/// How far the eyes may sit from it: the crop shrinks about the eyes before it shifts, so only a
/// photo too tight to frame moves them, and the sample frames leave room.
const EYE_LINE_TOLERANCE: f64 = 0.03;

/// Copies `sample-images/` (flat: photos, shoot file, roster) so the run cannot touch the repo.
fn copy_sample_shoot(to: &Path) -> usize {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-images");
    fs::create_dir_all(to).expect("create the shoot copy");
    let mut photos = 0;
    for entry in fs::read_dir(&from).expect("sample-images/ is readable") {
        let path = entry.expect("sample-images/ entry").path();
        let name = path.file_name().expect("file name");
        fs::copy(&path, to.join(name)).expect("copy a sample file");
        if path.extension().is_some_and(|ext| ext == "jpg") {
            photos += 1;
        }
    }
    assert!(
        to.join("headshot.toml").is_file(),
        "sample-images/ has a shoot file"
    );
    photos
}

fn largest_face_eyes(photo: &Value) -> Option<(f64, f64)> {
    let faces = photo["faces"].as_array()?;
    let area = |face: &Value| {
        face["box"][2].as_f64().unwrap_or(0.0) * face["box"][3].as_f64().unwrap_or(0.0)
    };
    let face = faces.iter().max_by(|a, b| area(a).total_cmp(&area(b)))?;
    let eye = |index: usize, axis: usize| face["eyes"][index][axis].as_f64();
    Some((
        (eye(0, 0)? + eye(1, 0)?) / 2.0,
        (eye(0, 1)? + eye(1, 1)?) / 2.0,
    ))
}

/// A face-framed photo: 4:5 crop and outputs, eyes centred across and on the eye line.
fn assert_framed_on_face(photo: &Value) {
    let source = &photo["source"];
    let crop = &photo["crop"];
    assert_eq!(crop["anchor"], "face", "{source}: {crop}");
    let number = |value: &Value| value.as_f64().expect("a number");
    let (x, y, width, height) = (
        number(&crop["x"]),
        number(&crop["y"]),
        number(&crop["width"]),
        number(&crop["height"]),
    );
    assert!(
        (width - height * 0.8).abs() <= 1.0,
        "{source}: crop {width}x{height}"
    );
    let (eye_x, eye_y) = largest_face_eyes(photo).expect("the face's eyes");
    let eye_line = (eye_y - y) / height;
    assert!(
        (eye_line - EYE_LINE).abs() <= EYE_LINE_TOLERANCE,
        "{source}: eyes at {eye_line:.3} of the crop height, preset says {EYE_LINE}"
    );
    let across = (eye_x - x) / width;
    assert!(
        (across - 0.5).abs() <= 0.05,
        "{source}: eyes at {across:.3} across"
    );
    for output in photo["outputs"].as_array().expect("outputs") {
        if output["derivative"] == "avatar" {
            continue; // 1:1 by its own crop preset
        }
        let (w, h) = (number(&output["width"]), number(&output["height"]));
        assert!((w - h * 0.8).abs() <= 1.0, "{source}: output {w}x{h}");
    }
}

/// The names exiftool reads from a derivative: XMP title, IPTC object name, person shown.
fn names_in_file(path: &Path) -> Vec<String> {
    let output = Command::new("exiftool")
        .args([
            "-s3",
            "-XMP-dc:Title",
            "-IPTC:ObjectName",
            "-XMP-iptcExt:PersonInImage",
        ])
        .arg(path)
        .output()
        .expect("exiftool runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The README quotes what this run prints: the same lines, but for the timing of the first one
/// and the folder the shoot was copied to.
fn readme_quotes_the_run(stdout: &str, copied_to: &Path) {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let quoted: Vec<&str> = readme
        .split_once("The run prints:\n\n```\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(block, _)| block.lines().collect())
        .expect("README.md quotes the run after 'The run prints:'");
    let prefix = format!("{}{}", copied_to.display(), std::path::MAIN_SEPARATOR);
    let printed: Vec<String> = stdout
        .lines()
        .map(|line| line.replace(&prefix, ""))
        .filter(|line| !line.contains(headshot::decode::JPEG_SIMD_HINT))
        .collect();
    let counts = |line: &str| {
        line.split(" written to ")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(counts(quoted[0]), counts(&printed[0]), "{stdout}");
    assert_eq!(
        quoted[1..],
        printed[1..],
        "README.md's quoted run vs this run"
    );
}

#[test]
fn first_run_names_frames_and_flags_the_sample_shoot() {
    let temp = tempfile::tempdir().expect("temp dir");
    let shoot = temp.path().join("sample-images");
    let gallery = temp.path().join("gallery");
    let photos = copy_sample_shoot(&shoot);
    let output = Command::new(env!("CARGO_BIN_EXE_headshot"))
        .args(["run", path_arg(&shoot), "--out", path_arg(&gallery)])
        .output()
        .expect("the headshot binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The nasm hint comes exactly when this build lacks libjpeg's SIMD.
    assert_eq!(
        stdout.contains(headshot::decode::JPEG_SIMD_HINT),
        !headshot::decode::jpeg_simd_built_in(),
        "{stdout}"
    );

    let manifest: Value = serde_json::from_str(
        &fs::read_to_string(gallery.join("manifest.json")).expect("manifest.json"),
    )
    .expect("manifest.json is JSON");
    let entries = manifest["photos"].as_array().expect("photos");
    assert_eq!(
        entries.len(),
        photos,
        "every sample photo is in the manifest"
    );
    assert_eq!(manifest["summary"]["failed"], 0);

    let slates = entries.iter().filter(|p| p["role"] == "slate").count();
    let mut people = BTreeSet::new();
    let mut framed = 0;
    for photo in entries.iter().filter(|p| p["role"] == "portrait") {
        let Some(name) = photo["person"]["name"].as_str() else {
            continue;
        };
        assert_eq!(
            photo["assigned_by"]["layout"], "slate",
            "{}",
            photo["source"]
        );
        people.insert(name.to_string());
        if photo["needs_review"].is_null() {
            assert_framed_on_face(photo);
            framed += 1;
        }
    }
    assert!(slates >= 2, "{slates} slates read:\n{stdout}");
    assert!(people.len() >= 2, "people named from slates: {people:?}");
    assert!(framed >= 4, "{framed} photos framed on a face");
    let flagged: Vec<&Value> = entries
        .iter()
        .filter(|p| !p["needs_review"].is_null())
        .collect();
    assert!(
        !flagged.is_empty(),
        "no photo flagged for review:\n{stdout}"
    );
    assert!(stdout.contains("need review"), "{stdout}");
    readme_quotes_the_run(&stdout, temp.path());

    if !tool_available("exiftool", "-ver") {
        return;
    }
    let named_portraits = entries
        .iter()
        .filter(|p| p["role"] == "portrait" && p["person"]["name"].is_string());
    for photo in named_portraits {
        let name = photo["person"]["name"].as_str().unwrap_or_default();
        let large = photo["outputs"]
            .as_array()
            .and_then(|outputs| outputs.iter().find(|o| o["derivative"] == "large"))
            .and_then(|o| o["path"].as_str())
            .expect("a large derivative");
        let read = names_in_file(&gallery.join(large));
        assert_eq!(read, vec![name; 3], "{large}: exiftool read {read:?}");
    }
}
