//! `GALLERY/corrections.csv` through `headshot run` on real photos: a slate shoot with a slate
//! missing made good by corrections, corrections over slates and sheets, unname, reject, slate
//! with a name, re-runs that decode nothing, a torn last line, a bad line, and Photo Mechanic
//! codes (`--codes`) in sheets and corrections. Names are read back with exiftool.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{headshot, path_arg, photo, run_shoot, slate_jpeg};
use headshot::corrections::{append_corrections, Correction, CorrectionAction};
use headshot::names::render_card;
use serde_json::{json, Value};

const ROSTER: &str =
    "id,name,company\nA1,Seán O'Brien,Acme\nB2,李小龍,\nC3,Stéphane Jolicoeur-Fidelia,\n";

/// A temp folder with `shoot/` (the photos), sheets beside it and the output folder `out/`.
struct Shoot {
    dir: tempfile::TempDir,
}

impl Shoot {
    /// Five small camera photos, capture order: D70 2008-03-15, K10D 2008-05-04, 40D
    /// 2008-05-30, DSCN0010 2008-10-22, Pixel 2018-07-25.
    fn cameras(corpus: &Path) -> Self {
        let shoot = Self {
            dir: tempfile::tempdir().unwrap(),
        };
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
            let target = shoot.root().join(destination);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(corpus.join(source), target).unwrap();
        }
        shoot
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("shoot")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// A slate frame holding the roster card of `id` at `capture_time` (`YYYY:MM:DD HH:MM:SS`).
    fn slate(&self, corpus: &Path, file: &str, id: &str, name: &str, capture_time: &str) {
        let card = render_card(id, name, 1200).unwrap().image;
        fs::write(
            self.root().join(file),
            slate_jpeg(corpus, card, capture_time),
        )
        .unwrap();
    }

    /// One camera body for every photo, so slates reach across the fixture's camera models.
    fn one_camera(&self) {
        common::exiftool_set(
            &[&self.root()],
            &[
                "-Make=Fixture",
                "-Model=One",
                "-ExifIFD:SerialNumber=FIXTURE-1",
            ],
        );
    }

    /// Writes a file beside the shoot and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn corrections(&self, rows: &str) {
        self.write(
            "out/corrections.csv",
            &format!("source,name,action,time,by\n{rows}"),
        );
    }

    /// The manifest's `source` of a photo of the shoot.
    fn source(&self, relative: &str) -> String {
        self.root().join(relative).display().to_string()
    }

    fn run(&self, extra: &[&str]) -> (i32, Value) {
        run_shoot(&[&self.root()], &self.out(), extra)
    }

    /// `headshot run` expected to stop before any photo: its stderr.
    fn run_refused(&self, extra: &[&str]) -> String {
        let (root, out) = (self.root(), self.out());
        let mut args = vec!["run", path_arg(&root)];
        args.extend(["--out", path_arg(&out), "--quiet"]);
        args.extend(extra);
        let output = headshot(&args);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

fn person(manifest: &Value, file_name: &str) -> Option<String> {
    photo(manifest, file_name)["person"]["name"]
        .as_str()
        .map(str::to_string)
}

fn counts(manifest: &Value) -> (u64, u64) {
    let counts = &manifest["timing"]["counts"];
    (
        counts["decodes"].as_u64().unwrap(),
        counts["outputs_finished"].as_u64().unwrap(),
    )
}

/// The names exiftool reads from every output of a photo: (XMP dc:title, IPTC ObjectName,
/// XMP PersonInImage), one per output; an unnamed output reads as empty strings.
fn names_read_back(out: &Path, manifest: &Value, file_name: &str) -> Vec<(String, String, String)> {
    let outputs = photo(manifest, file_name)["outputs"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!outputs.is_empty(), "{file_name} has no outputs");
    outputs
        .iter()
        .map(|output| {
            let path = out.join(output["path"].as_str().unwrap());
            let result = Command::new("exiftool")
                .args([
                    "-json",
                    "-XMP-dc:Title",
                    "-IPTC:ObjectName",
                    "-XMP-iptcExt:PersonInImage",
                ])
                .arg(&path)
                .output()
                .expect("exiftool runs");
            assert!(result.status.success(), "{}", path.display());
            let tags: Value = serde_json::from_slice(&result.stdout).unwrap();
            let text = |key: &str| match &tags[0][key] {
                Value::String(text) => text.clone(),
                Value::Array(items) => items[0].as_str().unwrap_or_default().to_string(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (text("Title"), text("ObjectName"), text("PersonInImage"))
        })
        .collect()
}

fn all_named(out: &Path, manifest: &Value, file_name: &str, name: &str) {
    for read in names_read_back(out, manifest, file_name) {
        assert_eq!(
            read,
            (name.to_string(), name.to_string(), name.to_string()),
            "{file_name}"
        );
    }
}

#[test]
fn a_missing_slate_is_made_good_by_corrections_and_a_new_correction_decodes_nothing() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = Shoot::cameras(&corpus);
    // Seán's slate before the D70 was never shot; 李小龍's slate comes before the 40D.
    shoot.slate(
        &corpus,
        "day-a/slate-2.jpg",
        "B2",
        "李小龍",
        "2008:05:20 12:00:00",
    );
    shoot.one_camera();
    let roster = shoot.write("roster.csv", ROSTER);
    let slates = ["--slates", "--roster", path_arg(&roster)];
    // As manifest.json names the source, by the path in the shoot, and by roster id.
    shoot.corrections(&format!(
        "{},Seán O'Brien,name,2026-12-04T10:15:00Z,desk\n\
         day-a/Pentax_K10D.jpg,A1,name,2026-12-04T10:15:02Z,desk\n\
         day-b/Pixel.jpg,Stéphane Jolicoeur-Fidelia,name,2026-12-04T10:16:00Z,ann\n\
         day-b/DSCN0010.jpg,,unname,2026-12-04T10:17:00Z,ann\n\
         day-b/gone.jpg,Nobody,name,2026-12-04T10:18:00Z,ann\n",
        shoot.source("day-a/Nikon_D70.jpg")
    ));
    let (code, manifest) = shoot.run(&slates);
    assert_eq!(code, 0, "{manifest:#}");
    let sean = "Seán O'Brien";
    assert_eq!(person(&manifest, "Nikon_D70.jpg").as_deref(), Some(sean));
    assert_eq!(person(&manifest, "Pentax_K10D.jpg").as_deref(), Some(sean));
    assert_eq!(
        photo(&manifest, "Pentax_K10D.jpg")["person"]["company"],
        "Acme"
    );
    assert_eq!(photo(&manifest, "Pentax_K10D.jpg")["person_seq"], 2);
    assert_eq!(
        photo(&manifest, "Nikon_D70.jpg")["assigned_by"],
        json!({"layout": "correction", "line": 2, "time": "2026-12-04T10:15:00Z", "by": "desk"})
    );
    // The slate still names the frame the corrections leave alone.
    assert_eq!(
        person(&manifest, "Canon_40D.jpg").as_deref(),
        Some("李小龍")
    );
    assert_eq!(
        person(&manifest, "Pixel.jpg").as_deref(),
        Some("Stéphane Jolicoeur-Fidelia"),
        "a correction over a slate's name"
    );
    assert_eq!(photo(&manifest, "DSCN0010.jpg")["person"], Value::Null);
    let review = &manifest["review"];
    assert_eq!(
        review["unnamed_photos"],
        json!([{"photo": "day-b/DSCN0010.jpg", "reason": {"reason": "corrected", "line": 5}}])
    );
    let warnings = review["warnings"].to_string();
    assert!(
        warnings.contains("corrections.csv:6") && warnings.contains("gone.jpg"),
        "{warnings}"
    );
    all_named(&shoot.out(), &manifest, "Nikon_D70.jpg", sean);
    all_named(
        &shoot.out(),
        &manifest,
        "Pixel.jpg",
        "Stéphane Jolicoeur-Fidelia",
    );
    all_named(&shoot.out(), &manifest, "DSCN0010.jpg", "");

    // The same again: nothing to do.
    let (_, again) = shoot.run(&slates);
    assert_eq!(counts(&again), (0, 0));

    // A correction appended (as the desk does): only that photo's two outputs are finished.
    let fix = Correction::now("day-a/Canon_40D.jpg", "C3", CorrectionAction::Name, "bo");
    append_corrections(&shoot.out(), &[fix]).unwrap();
    let (code, after) = shoot.run(&slates);
    assert_eq!(code, 0);
    assert_eq!(counts(&after), (0, 2), "{:#}", after["timing"]);
    assert_eq!(after["timing"]["counts"]["renders"], 0);
    assert_eq!(
        person(&after, "Canon_40D.jpg").as_deref(),
        Some("Stéphane Jolicoeur-Fidelia")
    );
    all_named(
        &shoot.out(),
        &after,
        "Canon_40D.jpg",
        "Stéphane Jolicoeur-Fidelia",
    );
    for untouched in [
        "Nikon_D70.jpg",
        "Pentax_K10D.jpg",
        "DSCN0010.jpg",
        "Pixel.jpg",
    ] {
        assert_eq!(photo(&after, untouched)["status"], "skipped", "{untouched}");
    }
}

#[test]
fn reject_slate_with_a_name_and_a_name_over_a_slate_frame() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = Shoot::cameras(&corpus);
    shoot.slate(
        &corpus,
        "day-a/slate-1.jpg",
        "A1",
        "Seán O'Brien",
        "2008:03:01 10:00:00",
    );
    shoot.one_camera();
    let roster = shoot.write("roster.csv", ROSTER);
    let slates = ["--slates", "--roster", path_arg(&roster)];
    shoot.corrections(
        "day-a/slate-1.jpg,Rose Leslie,name,,\n\
         day-a/Pentax_K10D.jpg,B2,slate,,\n\
         day-b/DSCN0010.jpg,,reject,,\n",
    );
    let (code, manifest) = shoot.run(&slates);
    assert_eq!(code, 0, "{manifest:#}");
    // The slate frame is a portrait of Rose Leslie, rendered; without its slate the D70 is
    // before the first slate.
    let rose = photo(&manifest, "slate-1.jpg");
    assert_eq!(rose["role"], "portrait");
    assert_eq!(rose["outputs"].as_array().unwrap().len(), 2);
    all_named(&shoot.out(), &manifest, "slate-1.jpg", "Rose Leslie");
    assert_eq!(photo(&manifest, "Nikon_D70.jpg")["person"], Value::Null);
    // The K10D is a slate for 李小龍 (roster id B2): no outputs, and the frames after it are his.
    let k10d = photo(&manifest, "Pentax_K10D.jpg");
    assert_eq!(k10d["role"], "slate");
    assert_eq!(k10d["outputs"], json!([]));
    for file in ["Canon_40D.jpg", "Pixel.jpg"] {
        assert_eq!(person(&manifest, file).as_deref(), Some("李小龍"), "{file}");
        assert_eq!(
            photo(&manifest, file)["assigned_by"],
            json!({"layout": "slate", "slate": "day-a/Pentax_K10D.jpg"})
        );
    }
    all_named(&shoot.out(), &manifest, "Pixel.jpg", "李小龍");
    // Rejected: no outputs, neither failed nor to review.
    let rejected = photo(&manifest, "DSCN0010.jpg");
    assert_eq!(rejected["role"], "rejected");
    assert_eq!(rejected["outputs"], json!([]));
    assert_eq!(rejected["needs_review"], Value::Null);
    assert_ne!(rejected["status"], "failed");
    assert_eq!(manifest["summary"]["rejected"], 1);
    assert_eq!(manifest["summary"]["failed"], 0);
    let csv = fs::read_to_string(shoot.out().join("manifest.csv")).unwrap();
    assert!(!csv.contains("DSCN0010"), "{csv}");

    // Rejecting a rendered photo afterwards removes its outputs and decodes nothing.
    let pixel_outputs: Vec<String> = photo(&manifest, "Pixel.jpg")["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_string())
        .collect();
    let reject = Correction::now("day-b/Pixel.jpg", "", CorrectionAction::Reject, "desk");
    append_corrections(&shoot.out(), &[reject]).unwrap();
    let (code, after) = shoot.run(&slates);
    assert_eq!(code, 0);
    assert_eq!(counts(&after), (0, 0));
    assert_eq!(after["summary"]["rejected"], 2);
    for path in &pixel_outputs {
        assert!(!shoot.out().join(path).exists(), "{path} still there");
    }
}

#[test]
fn corrections_over_a_sheet_with_photo_mechanic_codes() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let shoot = Shoot::cameras(&corpus);
    shoot.one_camera();
    let codes = shoot.write(
        "codes.txt",
        "# Photo Mechanic code replacements\nj23\tJane Doe\tAcme\nk7\tKai Ōta\nb1\tBob Moss\n",
    );
    let sheet = shoot.write(
        "names.csv",
        "file,name\nNikon_D70.jpg,=j23=\nPentax_K10D.jpg,k7\nCanon_40D.jpg,Ann Lee\n",
    );
    shoot.corrections(
        "day-a/Canon_40D.jpg,=b1=,name,,\n\
         day-b/DSCN0010.jpg,Cy =j23#2=,slate,,\n",
    );
    let names = ["--names", path_arg(&sheet), "--codes", path_arg(&codes)];
    let (code, manifest) = shoot.run(&names);
    assert_eq!(code, 0, "{manifest:#}");
    assert_eq!(
        person(&manifest, "Nikon_D70.jpg").as_deref(),
        Some("Jane Doe")
    );
    assert_eq!(
        person(&manifest, "Pentax_K10D.jpg").as_deref(),
        Some("Kai Ōta")
    );
    assert_eq!(
        person(&manifest, "Canon_40D.jpg").as_deref(),
        Some("Bob Moss")
    );
    assert_eq!(
        photo(&manifest, "Canon_40D.jpg")["assigned_by"]["layout"],
        "correction"
    );
    assert_eq!(photo(&manifest, "DSCN0010.jpg")["role"], "slate");
    assert_eq!(person(&manifest, "Pixel.jpg").as_deref(), Some("Cy Acme"));
    all_named(&shoot.out(), &manifest, "Nikon_D70.jpg", "Jane Doe");
    all_named(&shoot.out(), &manifest, "Canon_40D.jpg", "Bob Moss");
    all_named(&shoot.out(), &manifest, "Pixel.jpg", "Cy Acme");

    // An unknown code stops the run, naming the file and line.
    let bad_sheet = shoot.write(
        "bad.csv",
        "file,name\nNikon_D70.jpg,Ann\nCanon_40D.jpg,=zz=\n",
    );
    let stderr = shoot.run_refused(&["--names", path_arg(&bad_sheet), "--codes", path_arg(&codes)]);
    assert!(
        stderr.contains("bad.csv:3") && stderr.contains("=zz="),
        "{stderr}"
    );
    append_corrections(
        &shoot.out(),
        &[Correction::now(
            "day-a/Nikon_D70.jpg",
            "=q1=",
            CorrectionAction::Name,
            "desk",
        )],
    )
    .unwrap();
    let stderr = shoot.run_refused(&names);
    assert!(
        stderr.contains("corrections.csv:4") && stderr.contains("=q1="),
        "{stderr}"
    );
}

#[test]
fn a_torn_last_line_is_ignored_and_a_bad_line_is_named() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::cameras(&corpus);
    // Without any names: corrections alone name and reject.
    shoot.write(
        "out/corrections.csv",
        "source,name,action,time,by\n\
         day-a/Nikon_D70.jpg,Ann Lee,name,2026-12-04T10:15:00Z,desk\n\
         day-a/Canon_40D.jpg,Bo",
    );
    let (code, manifest) = shoot.run(&[]);
    assert_eq!(code, 0, "{manifest:#}");
    assert_eq!(
        person(&manifest, "Nikon_D70.jpg").as_deref(),
        Some("Ann Lee")
    );
    assert_eq!(photo(&manifest, "Canon_40D.jpg")["person"], Value::Null);
    let warnings = manifest["review"]["warnings"].to_string();
    assert!(
        warnings.contains("corrections.csv:3") && warnings.contains("unfinished"),
        "{warnings}"
    );

    // The next append cuts the torn row off, so the file stays whole.
    append_corrections(
        &shoot.out(),
        &[Correction::now(
            "day-a/Canon_40D.jpg",
            "",
            CorrectionAction::Reject,
            "desk",
        )],
    )
    .unwrap();
    let text = fs::read_to_string(shoot.out().join("corrections.csv")).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let (_, manifest) = shoot.run(&[]);
    assert_eq!(photo(&manifest, "Canon_40D.jpg")["role"], "rejected");
    assert_eq!(counts(&manifest), (0, 0));

    shoot.write(
        "out/corrections.csv",
        "source,name,action\nday-a/Nikon_D70.jpg,Ann Lee,name\nday-a/Canon_40D.jpg,Bo,rename\n",
    );
    let stderr = shoot.run_refused(&[]);
    assert!(
        stderr.contains("corrections.csv:3:") && stderr.contains("rename"),
        "{stderr}"
    );
}
