//! The three passes, counted: each photo decoded at most once per run; a re-run after a tone or
//! export change runs no analyser; one after a names or caption change decodes nothing; a slate
//! is decoded once and renders nothing; `inspect` and `run` agree photo for photo.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{corpus, headshot, path_arg, photo, run_shoot, tool_available};
use serde_json::Value;

/// The manifest's work counts: (decodes, face detections, crop plans, renders, outputs finished).
fn counts(manifest: &Value) -> (u64, u64, u64, u64, u64) {
    let counts = &manifest["timing"]["counts"];
    let read = |key: &str| counts[key].as_u64().unwrap_or_else(|| panic!("no {key}"));
    (
        read("decodes"),
        read("face_detections"),
        read("crop_plans"),
        read("renders"),
        read("outputs_finished"),
    )
}

/// Portraits from the corpus (public-domain ones and others), copied into a fresh shoot.
fn portrait_shoot(corpus: &Path) -> tempfile::TempDir {
    let shoot = tempfile::tempdir().unwrap();
    for name in ["obama.jpg", "biden.jpg", "rose_leslie_img2.jpg", "two_people.jpg"] {
        fs::copy(corpus.join("faces").join(name), shoot.path().join(name)).unwrap();
    }
    fs::copy(
        corpus.join("exif/Canon_40D.jpg"),
        shoot.path().join("Canon_40D.jpg"),
    )
    .unwrap();
    shoot
}

#[test]
fn reruns_decode_and_analyse_only_what_their_change_needs() {
    let Some(corpus) = corpus() else { return };
    let shoot = portrait_shoot(&corpus);
    let out = tempfile::tempdir().unwrap();
    let booth = ["--crop", "headshot-4x5", "--export", "gallery"];
    let with = |extra: &[&'static str]| {
        let mut args: Vec<&str> = booth.to_vec();
        args.extend_from_slice(extra);
        args
    };

    let (code, first) = run_shoot(&[shoot.path()], out.path(), &with(&["--tone", "clean-bright"]));
    assert_eq!(code, 0);
    let photos = first["summary"]["photos"].as_u64().unwrap();
    assert_eq!(photos, 5);
    // Two crop presets in the gallery export (headshot-4x5, and avatar-1x1 for its avatar).
    assert_eq!(counts(&first), (photos, photos, photos * 2, photos, photos * 4));

    // Tone changed: every photo is decoded and rendered again, but no analyser runs.
    let (code, toned) = run_shoot(&[shoot.path()], out.path(), &with(&["--tone", "warm"]));
    assert_eq!(code, 0);
    assert_eq!(counts(&toned), (photos, 0, 0, photos, photos * 4));
    assert_eq!(
        photo(&toned, "obama.jpg")["faces"],
        photo(&first, "obama.jpg")["faces"]
    );
    assert_eq!(
        photo(&toned, "obama.jpg")["crop"],
        photo(&first, "obama.jpg")["crop"]
    );

    // Export changed (one derivative fewer, other sizes): still no analyser.
    let (code, exported) = run_shoot(
        &[shoot.path()],
        out.path(),
        &["--crop", "headshot-4x5", "--export", "web", "--tone", "warm"],
    );
    assert_eq!(code, 0);
    let (decodes, faces, crops, renders, _) = counts(&exported);
    assert_eq!((decodes, faces, crops, renders), (photos, 0, 0, photos));

    // Credit and caption changed: nothing is decoded, every output is finished again.
    let (code, credited) = run_shoot(
        &[shoot.path()],
        out.path(),
        &[
            "--crop",
            "headshot-4x5",
            "--export",
            "web",
            "--tone",
            "warm",
            "--credit",
            "Ann Example",
            "--caption",
            "{event}",
            "--event",
            "PyCon",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(counts(&credited), (0, 0, 0, 0, photos * 2));
    if tool_available("exiftool", "-ver") {
        let output = &photo(&credited, "biden.jpg")["outputs"][0]["path"];
        let file = out.path().join(output.as_str().unwrap());
        let read = Command::new("exiftool")
            .args(["-s3", "-XMP-dc:Creator", "-XMP-dc:Description"])
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&read.stdout);
        assert!(text.contains("Ann Example") && text.contains("PyCon"), "{text}");
    }

    // A names sheet added: still no decode; only the named photo's outputs change.
    let sheet = shoot.path().join("names.csv");
    fs::write(&sheet, "file,name\nbiden.jpg,Joseph Biden\n").unwrap();
    let (code, named) = run_shoot(
        &[shoot.path()],
        out.path(),
        &[
            "--crop",
            "headshot-4x5",
            "--export",
            "web",
            "--tone",
            "warm",
            "--credit",
            "Ann Example",
            "--caption",
            "{event}",
            "--event",
            "PyCon",
            "--names",
            path_arg(&sheet),
        ],
    );
    assert_eq!(code, 0);
    let (decodes, faces, crops, renders, finished) = counts(&named);
    assert_eq!((decodes, faces, crops, renders), (0, 0, 0, 0));
    assert_eq!(finished, 2, "only Biden's two outputs carry a new name");
    assert_eq!(photo(&named, "biden.jpg")["person"]["name"], "Joseph Biden");

    // Nothing changed: nothing decoded, nothing written.
    let (_, again) = run_shoot(
        &[shoot.path()],
        out.path(),
        &[
            "--crop",
            "headshot-4x5",
            "--export",
            "web",
            "--tone",
            "warm",
            "--credit",
            "Ann Example",
            "--caption",
            "{event}",
            "--event",
            "PyCon",
            "--names",
            path_arg(&sheet),
        ],
    );
    assert_eq!(counts(&again), (0, 0, 0, 0, 0));
    assert_eq!(again["summary"]["skipped"], photos);
}

#[test]
fn a_forced_run_analyses_everything_again() {
    let Some(corpus) = corpus() else { return };
    let shoot = portrait_shoot(&corpus);
    let out = tempfile::tempdir().unwrap();
    let (_, first) = run_shoot(&[shoot.path()], out.path(), &["--faces"]);
    let (_, forced) = run_shoot(&[shoot.path()], out.path(), &["--faces", "--force"]);
    let (decodes, faces, _, renders, _) = counts(&forced);
    assert_eq!((decodes, faces, renders), (5, 5, 5));
    assert_eq!(
        photo(&forced, "two_people.jpg")["faces"],
        photo(&first, "two_people.jpg")["faces"]
    );
}

#[test]
fn inspect_and_run_report_the_same_faces_and_crops() {
    let Some(corpus) = corpus() else { return };
    let shoot = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for entry in fs::read_dir(corpus.join("faces")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        fs::copy(entry.path(), shoot.path().join(&name)).unwrap();
        names.push(name);
    }
    names.sort();
    let out = tempfile::tempdir().unwrap();
    let (code, manifest) = run_shoot(&[shoot.path()], out.path(), &["--crop", "headshot-4x5"]);
    assert_eq!(code, 0);
    let files: Vec<String> = names
        .iter()
        .map(|name| shoot.path().join(name).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["inspect", "--json", "--crop", "headshot-4x5"];
    args.extend(files.iter().map(String::as_str));
    let output = headshot(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let inspected: Value = serde_json::from_slice(&output.stdout).unwrap();
    for (name, inspection) in names.iter().zip(inspected.as_array().unwrap()) {
        let record = photo(&manifest, name);
        assert_eq!(inspection["faces"], record["faces"], "{name}: faces");
        assert_eq!(inspection["crops"][0]["preset"], "headshot-4x5");
        assert_eq!(
            inspection["crops"][0]["crop"], record["crop"],
            "{name}: crop"
        );
        assert_eq!(
            inspection["crops"][0]["needs_review"], record["needs_review"],
            "{name}: review"
        );
    }
}
