//! Re-runs on real photos: unchanged photos are skipped, changed ones redone, outputs of gone
//! sources removed, `--force` redoes all; and a run killed mid-batch leaves only whole files,
//! which the next run keeps while it finishes the rest.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{corpus, path_arg, photo, run_shoot};

/// Copies corpus photos into `shoot` as `{prefix}{file name}`.
fn copy_photos(corpus: &Path, shoot: &Path, files: &[&str], prefix: &str) {
    for file in files {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        fs::copy(corpus.join(file), shoot.join(format!("{prefix}{name}"))).unwrap();
    }
}

/// Every file under `folder` (relative path) with its modification time.
fn files_with_mtimes(folder: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(current) = folders.pop() {
        for entry in fs::read_dir(&current).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let modified = entry.metadata().unwrap().modified().unwrap();
                files.insert(path.strip_prefix(folder).unwrap().to_path_buf(), modified);
            }
        }
    }
    files
}

fn statuses(manifest: &serde_json::Value) -> (u64, u64, u64) {
    let summary = &manifest["summary"];
    (
        summary["ok"].as_u64().unwrap(),
        summary["skipped"].as_u64().unwrap(),
        summary["failed"].as_u64().unwrap(),
    )
}

fn output_paths(manifest: &serde_json::Value, file_name: &str) -> Vec<String> {
    photo(manifest, file_name)["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|output| output["path"].as_str().unwrap().to_string())
        .collect()
}

fn set_mtime(path: &Path, time: SystemTime) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

#[test]
fn reruns_skip_what_is_current_and_redo_what_changed() {
    let Some(corpus) = corpus() else { return };
    let shoot = tempfile::tempdir().unwrap();
    copy_photos(
        &corpus,
        shoot.path(),
        &[
            "faces/obama.jpg",
            "faces/biden.jpg",
            "exif/Canon_40D.jpg",
            "exif/Nikon_D70.jpg",
        ],
        "",
    );
    let out = tempfile::tempdir().unwrap();
    let (code, first) = run_shoot(&[shoot.path()], out.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(statuses(&first), (4, 0, 0));
    assert!(out.path().join(".headshot-state.json").is_file());
    assert!(!out.path().join(".headshot-state.journal").exists());
    let after_first = files_with_mtimes(out.path());

    // Nothing changed: everything skipped, no output rewritten, the manifest still lists them.
    let (code, second) = run_shoot(&[shoot.path()], out.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(statuses(&second), (0, 4, 0));
    assert_eq!(second["summary"]["outputs_written"], 0);
    assert_eq!(photo(&second, "obama.jpg")["status"], "skipped");
    assert_eq!(
        photo(&second, "obama.jpg")["outputs"],
        photo(&first, "obama.jpg")["outputs"]
    );
    assert_eq!(
        photo(&second, "obama.jpg")["width"],
        photo(&first, "obama.jpg")["width"]
    );
    let after_second = files_with_mtimes(out.path());
    for (file, modified) in &after_first {
        if file.extension().is_some_and(|ext| ext == "jpg") {
            assert_eq!(after_second.get(file), Some(modified), "{file:?} rewritten");
        }
    }
    let csv_rows = fs::read_to_string(out.path().join("manifest.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(csv_rows, 1 + 4 * 2, "skipped photos keep their rows");

    // Touched but not changed: the content hash says it is current.
    set_mtime(
        &shoot.path().join("obama.jpg"),
        SystemTime::now() + Duration::from_secs(60),
    );
    // Changed content: redone.
    fs::copy(
        corpus.join("exif/Pentax_K10D.jpg"),
        shoot.path().join("Canon_40D.jpg"),
    )
    .unwrap();
    // An output deleted by hand: its photo is redone.
    let biden_thumb = out.path().join(&output_paths(&first, "biden.jpg")[1]);
    fs::remove_file(&biden_thumb).unwrap();
    let (code, third) = run_shoot(&[shoot.path()], out.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(statuses(&third), (2, 2, 0));
    // Only the changed photo is decoded; the deleted output is finished again from its staged
    // file, and the touched photo is known by its content hash.
    assert_eq!(third["timing"]["counts"]["decodes"], 1);
    assert_eq!(third["timing"]["counts"]["renders"], 1);
    assert_eq!(photo(&third, "obama.jpg")["status"], "skipped");
    assert_eq!(photo(&third, "Canon_40D.jpg")["status"], "ok");
    assert_ne!(
        photo(&third, "Canon_40D.jpg")["camera"],
        photo(&first, "Canon_40D.jpg")["camera"]
    );
    assert!(biden_thumb.is_file());

    // A setting that shapes every output: all redone.
    let (code, toned) = run_shoot(&[shoot.path()], out.path(), &["--tone", "warm"]);
    assert_eq!(code, 0);
    assert_eq!(statuses(&toned), (4, 0, 0));
    let (_, again) = run_shoot(&[shoot.path()], out.path(), &["--tone", "warm"]);
    assert_eq!(statuses(&again), (0, 4, 0));

    // A source gone: its outputs are removed and reported.
    let gone = output_paths(&again, "Nikon_D70.jpg");
    fs::remove_file(shoot.path().join("Nikon_D70.jpg")).unwrap();
    let (code, fewer) = run_shoot(&[shoot.path()], out.path(), &["--tone", "warm"]);
    assert_eq!(code, 0);
    assert_eq!(statuses(&fewer), (0, 3, 0));
    let removed: Vec<&str> = fewer["summary"]["removed_outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|removed| removed["path"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), gone.len());
    for path in &gone {
        assert!(removed.contains(&path.as_str()));
        assert!(!out.path().join(path).exists(), "{path} still there");
    }

    // --force redoes everything.
    let (code, forced) = run_shoot(&[shoot.path()], out.path(), &["--tone", "warm", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(statuses(&forced), (3, 0, 0));
}

#[test]
fn editing_one_row_of_the_names_sheet_redoes_only_that_photo() {
    let Some(corpus) = corpus() else { return };
    let shoot = tempfile::tempdir().unwrap();
    copy_photos(
        &corpus,
        shoot.path(),
        &[
            "faces/obama.jpg",
            "exif/Canon_40D.jpg",
            "exif/Nikon_D70.jpg",
        ],
        "",
    );
    let sheets = tempfile::tempdir().unwrap();
    let sheet = sheets.path().join("names.csv");
    fs::write(
        &sheet,
        "file,name\nobama.jpg,Barack Obama\nCanon_40D.jpg,Ann Lee\nNikon_D70.jpg,Bob Ray\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let names = ["--names", path_arg(&sheet)];
    let (code, first) = run_shoot(&[shoot.path()], out.path(), &names);
    assert_eq!(code, 0);
    assert_eq!(statuses(&first), (3, 0, 0));

    // One name corrected, and the rows reordered so every line number moves.
    fs::write(
        &sheet,
        "file,name\nNikon_D70.jpg,Bobby Ray\nCanon_40D.jpg,Ann Lee\nobama.jpg,Barack Obama\n",
    )
    .unwrap();
    let (code, second) = run_shoot(&[shoot.path()], out.path(), &names);
    assert_eq!(code, 0);
    assert_eq!(statuses(&second), (1, 2, 0));
    assert_eq!(photo(&second, "Nikon_D70.jpg")["status"], "ok");
    assert_eq!(photo(&second, "Nikon_D70.jpg")["title"], "Bobby Ray");
    assert_eq!(photo(&second, "obama.jpg")["status"], "skipped");
    // The manifest tells where each name comes from now, skipped or not.
    assert_eq!(photo(&second, "obama.jpg")["assigned_by"]["line"], 4);
}

#[test]
fn a_killed_run_leaves_whole_staged_files_and_the_next_run_decodes_only_the_rest() {
    let Some(corpus) = corpus() else { return };
    let shoot = tempfile::tempdir().unwrap();
    let faces: Vec<String> = fs::read_dir(corpus.join("faces"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".jpg"))
        .map(|name| format!("faces/{name}"))
        .collect();
    let mut files: Vec<&str> = faces.iter().map(String::as_str).collect();
    files.extend(["exif/canon-dslr.jpg", "exif/Sony_DSLR-A200.jpg"]);
    for prefix in ["a_", "b_"] {
        copy_photos(&corpus, shoot.path(), &files, prefix);
    }
    let photo_count = files.len() * 2;
    assert!(photo_count >= 24);
    let out = tempfile::tempdir().unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_headshot"))
        .args(["run", path_arg(shoot.path()), "--out", path_arg(out.path())])
        .args(["--quiet", "--jobs", "1", "--export", "gallery"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a few photos are rendered (each journals a line), well before the end of the
    // render pass: the staged files are what a killed run leaves.
    let journal_path = out.path().join(".headshot-state.journal");
    let rendered_lines = |text: &str| {
        text.lines()
            .filter(|line| line.contains("\"event\":\"rendered\""))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let journal = fs::read_to_string(&journal_path).unwrap_or_default();
        if rendered_lines(&journal) >= 3 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no photo was rendered");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // Only whole files are visible: every staged JPEG decodes without a warning; temp files and
    // the journal are the only other hidden files; nothing is named yet.
    let after_kill = files_with_mtimes(out.path());
    assert!(
        !out.path().join("manifest.json").exists(),
        "killed before the end"
    );
    let mut staged = 0;
    for file in after_kill.keys() {
        let name = file.to_string_lossy();
        if name.ends_with(".headshot-tmp")
            || name == ".headshot-state.journal"
            || name == ".headshot.lock"
            || name.starts_with(".headshot/analysis/")
        {
            continue;
        }
        assert!(
            name.starts_with(".headshot/staging/") && name.ends_with(".jpg"),
            "unexpected file {name}"
        );
        let bytes = fs::read(out.path().join(file)).unwrap();
        let decoded =
            headshot::decode::decode(&bytes, headshot::discover::ImageFormat::Jpeg, 1.0, 500)
                .unwrap_or_else(|error| panic!("{name} is not whole: {error}"));
        assert!(
            decoded.warnings.is_empty(),
            "{name}: {:?}",
            decoded.warnings
        );
        staged += 1;
    }
    let journal = fs::read_to_string(&journal_path).unwrap();
    let journalled = rendered_lines(&journal);
    assert!(
        journalled >= 3,
        "rendered photos are journalled as they finish"
    );
    assert!(journalled < photo_count, "killed mid-batch");
    // Copies of one photo (a_, b_) share their staged files: same content, same settings.
    assert!(staged >= 4, "{staged} staged files");

    // The next run finishes the job: what was journalled is not decoded again.
    let (code, manifest) = run_shoot(
        &[shoot.path()],
        out.path(),
        &["--jobs", "1", "--export", "gallery"],
    );
    assert_eq!(code, 0);
    let (ok, skipped, failed) = statuses(&manifest);
    assert_eq!(failed, 0);
    assert_eq!(ok + skipped, photo_count as u64);
    let counts = &manifest["timing"]["counts"];
    assert_eq!(
        counts["decodes"].as_u64().unwrap(),
        (photo_count - journalled) as u64
    );
    assert_eq!(
        manifest["summary"]["outputs_written"].as_u64().unwrap(),
        photo_count as u64 * 4
    );
    let after_rerun = files_with_mtimes(out.path());
    for photo in manifest["photos"].as_array().unwrap() {
        for output in photo["outputs"].as_array().unwrap() {
            let path = PathBuf::from(output["path"].as_str().unwrap());
            assert!(after_rerun.contains_key(&path), "{path:?} missing");
        }
    }
    for name in after_rerun.keys().map(|file| file.to_string_lossy()) {
        assert!(
            !name.ends_with(".headshot-tmp") && name != ".headshot-state.journal",
            "{name} left behind"
        );
    }
    let (_, last) = run_shoot(
        &[shoot.path()],
        out.path(),
        &["--jobs", "1", "--export", "gallery"],
    );
    assert_eq!(statuses(&last), (0, photo_count as u64, 0));
}
