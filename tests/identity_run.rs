//! Names checked against faces in a run: a booth shoot built from the identity corpus (four
//! people, capture times set with exiftool) named by sheets with the mistakes a real booth makes.
//! Every wrongly named frame is flagged and no correctly named one; a sheet that names one frame
//! per person names the rest by face, never wrongly. Descriptors stay in the analysis cache.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::{corpus, path_arg, run_shoot, tool_available};
use serde_json::Value;

/// Frame name, identity-corpus photo, who it really is, capture minute after 10:00.
const FRAMES: [(&str, &str, &str, u32); 10] = [
    ("A1", "img13", "Ann", 0),
    ("A2", "img14", "Ann", 1),
    ("A3", "img15", "Ann", 2),
    ("B1", "img16", "Ben", 5),
    ("B2", "img17", "Ben", 6),
    ("B3", "img59", "Ben", 7),
    ("C1", "img22", "Cat", 10),
    ("C2", "img23", "Cat", 11),
    ("D1", "img24", "Dan", 15),
    ("D2", "img25", "Dan", 16),
];

fn booth_shoot(corpus: &Path) -> tempfile::TempDir {
    let shoot = tempfile::tempdir().unwrap();
    for (frame, source, _, minute) in FRAMES {
        let file = shoot.path().join(format!("{frame}.jpg"));
        fs::copy(corpus.join(format!("identity/{source}.jpg")), &file).unwrap();
        let status = Command::new("exiftool")
            .args(["-q", "-overwrite_original"])
            // One booth camera: first_file rows and slates follow their own camera's frames.
            .args([
                "-Make=Canon",
                "-Model=Canon EOS R6",
                "-ExifIFD:SerialNumber=BOOTH-1",
            ])
            .arg(format!("-DateTimeOriginal=2026:05:01 10:{minute:02}:00"))
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success());
    }
    shoot
}

/// Per frame: (name given, needs_review).
fn outcome(manifest: &Value) -> BTreeMap<String, (Option<String>, Option<String>)> {
    manifest["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|photo| {
            let source = Path::new(photo["source"].as_str().unwrap());
            let frame = source.file_stem().unwrap().to_string_lossy().into_owned();
            let name = photo["person"]["name"].as_str().map(str::to_string);
            let review = photo["needs_review"].as_str().map(str::to_string);
            (frame, (name, review))
        })
        .collect()
}

/// Runs the shoot named by `sheet` and checks that exactly the wrongly named frames are
/// flagged; returns the outcome.
fn check_sheet(
    shoot: &Path,
    sheet_text: &str,
) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let sheet = shoot.parent().unwrap().join(format!(
        "{}-names.csv",
        shoot.file_name().unwrap().to_string_lossy()
    ));
    fs::write(&sheet, sheet_text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, manifest) = run_shoot(&[shoot], out.path(), &["--names", path_arg(&sheet)]);
    assert_eq!(code, 0);
    let outcome = outcome(&manifest);
    for (frame, _, truth, _) in FRAMES {
        let (name, review) = &outcome[frame];
        let wrong = name.as_deref().is_some_and(|name| name != truth);
        assert_eq!(
            wrong,
            review
                .as_deref()
                .is_some_and(|r| r.contains("face does not match")),
            "{sheet_text}\n{frame} named {name:?} (really {truth}), review {review:?}"
        );
    }
    // Biometric data stays in the cache: not in the manifest, the CSV or the page.
    let cache = out.path().join(".headshot/analysis");
    let cached: String = fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|entry| fs::read_to_string(entry.path()).unwrap())
        .collect();
    assert!(cached.contains("\"descriptors\""), "descriptors are cached");
    for file in ["manifest.json", "manifest.csv", "index.html"] {
        let text = fs::read_to_string(out.path().join(file)).unwrap();
        assert!(!text.contains("descriptor"), "{file} holds a descriptor");
    }
    outcome
}

#[test]
fn wrong_names_are_flagged_and_one_named_frame_names_the_rest() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = booth_shoot(&corpus);
    let shoot = shoot.path();

    // A forgotten card: Cat's frames go to Ben.
    let forgotten = check_sheet(
        shoot,
        "first_file,name\nA1.jpg,Ann\nB1.jpg,Ben\nD1.jpg,Dan\n",
    );
    assert!(forgotten["C1"].1.is_some() && forgotten["C2"].1.is_some());
    // A row one frame late: B1 goes to Ann, and is said to look like Ben.
    let late = check_sheet(
        shoot,
        "first_file,name\nA1.jpg,Ann\nB2.jpg,Ben\nC1.jpg,Cat\nD1.jpg,Dan\n",
    );
    assert!(late["B1"].1.as_deref().unwrap().contains("looks like Ben"));
    // A time log one minute off for Ben: B1 (10:05) is before his entry (10:06).
    let log = check_sheet(
        shoot,
        "time,name\n10:00:00,Ann\n10:06:00,Ben\n10:10:00,Cat\n10:15:00,Dan\n",
    );
    assert_eq!(log["B1"].0.as_deref(), Some("Ann"));
    // One frame per person named: the others take the name by face, or stay unnamed.
    let one_each = check_sheet(
        shoot,
        "file,name\nA1.jpg,Ann\nB1.jpg,Ben\nC1.jpg,Cat\nD1.jpg,Dan\n",
    );
    let mut named_by_face = 0;
    for (frame, _, truth, _) in FRAMES {
        let name = one_each[frame].0.as_deref();
        assert!(name.is_none() || name == Some(truth), "{frame}: {name:?}");
        named_by_face += usize::from(name.is_some() && !frame.ends_with('1'));
    }
    assert!(
        named_by_face >= 4,
        "only {named_by_face} of 6 frames named by face"
    );
}

#[test]
fn no_biometrics_runs_check_nothing_and_clear_the_cache() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = booth_shoot(&corpus);
    let sheet = shoot.path().parent().unwrap().join("nb-names.csv");
    fs::write(
        &sheet,
        "first_file,name\nA1.jpg,Ann\nB1.jpg,Ben\nD1.jpg,Dan\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let names = ["--names", path_arg(&sheet)];
    let (_, first) = run_shoot(&[shoot.path()], out.path(), &names);
    assert_eq!(first["summary"]["needs_review"], 2);
    let mut args = names.to_vec();
    args.push("--no-biometrics");
    let (code, second) = run_shoot(&[shoot.path()], out.path(), &args);
    assert_eq!(code, 0);
    assert_eq!(second["summary"]["needs_review"], 0);
    assert_eq!(second["timing"]["counts"]["face_descriptions"], 0);
    for entry in fs::read_dir(out.path().join(".headshot/analysis"))
        .unwrap()
        .flatten()
    {
        let text = fs::read_to_string(entry.path()).unwrap();
        assert!(
            !text.contains("descriptors"),
            "{:?} keeps descriptors",
            entry.path()
        );
    }
}
