//! The tagging desk in a real browser (Debian's chromium through chromedriver): photos copied
//! into a served, empty shoot (one written slowly in two halves) appear as tiles; a frame and a
//! face group are named with the keyboard; the names land in corrections.csv, in the outputs'
//! file names and metadata; and a `run` afterwards has nothing left to do.

mod common;
mod serve_support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{corpus, path_arg, run_shoot, tool_available};
use serde_json::{json, Value};
use serve_support::{keys, Browser, Desk};

/// Frame, identity-corpus photo, capture minute: two frames each of two people.
const FRAMES: [(&str, &str, u32); 4] = [
    ("A1", "img13", 0),
    ("A2", "img14", 1),
    ("B1", "img16", 5),
    ("B2", "img17", 6),
];

/// The frames with booth camera EXIF, outside the shoot (copied in while the desk serves).
fn frames(corpus: &Path) -> tempfile::TempDir {
    let staging = tempfile::tempdir().unwrap();
    for (frame, source, minute) in FRAMES {
        let file = staging.path().join(format!("{frame}.jpg"));
        fs::copy(corpus.join(format!("identity/{source}.jpg")), &file).unwrap();
        common::exiftool_set(
            &[&file],
            &[
                "-Make=Canon",
                "-Model=Canon EOS R6",
                "-ExifIFD:SerialNumber=BOOTH-1",
                &format!("-DateTimeOriginal=2026:05:01 10:{minute:02}:00"),
            ],
        );
    }
    staging
}

/// What the page shows, for a failure message: the status line and every tile.
fn page_text(browser: &Browser) -> String {
    browser
        .script(
            "return document.getElementById('status').textContent + '\\n' +
               [...document.querySelectorAll('.tile')].map((t) => [t.dataset.index, t.dataset.file,
                 t.querySelector('.person').textContent, (t.querySelector('.group') || {}).textContent,
                 t.classList.contains('selected') ? 'selected' : ''].join(' ')).join('\\n')",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits for `check` on the page; a timeout says what the page showed.
fn wait_on_page(browser: &Browser, what: &str, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}; the page shows:\n{}",
            page_text(browser)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tile_count(browser: &Browser) -> u64 {
    browser
        .script(
            "return document.querySelectorAll('.tile').length",
            json!([]),
        )
        .as_u64()
        .unwrap_or(0)
}

/// What the page shows for each frame: (person text, data-index).
fn tile_of(browser: &Browser, frame: &str) -> (String, u64) {
    let found = browser.script(
        "const t = document.querySelector('.tile[data-file=\"' + arguments[0] + '\"]');
         return t ? [t.querySelector('.person').textContent, Number(t.dataset.index)] : null;",
        json!([format!("{frame}.jpg")]),
    );
    (
        found[0].as_str().unwrap_or_default().to_string(),
        found[1].as_u64().unwrap_or(0),
    )
}

/// Moves the keyboard focus from the first tile to `frame`'s with arrow keys.
fn arrow_to(browser: &Browser, frame: &str) {
    browser.script(
        "document.querySelector('.tile[data-index=\"0\"]').focus()",
        json!([]),
    );
    let (_, index) = tile_of(browser, frame);
    browser.type_keys(&keys::LEFT.repeat(3));
    browser.type_keys(&keys::RIGHT.repeat(index as usize));
    let focused = browser.script("return document.activeElement.dataset.file", json!([]));
    assert_eq!(focused, format!("{frame}.jpg"));
}

fn exif_person(file: &Path) -> String {
    let output = Command::new("exiftool")
        .args(["-s3", "-XMP-dc:Title"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn photo<'a>(manifest: &'a Value, frame: &str) -> &'a Value {
    common::photo(manifest, &format!("{frame}.jpg"))
}

#[test]
fn volunteers_name_arriving_photos_with_the_keyboard() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") || !tool_available("chromedriver", "--version") {
        return;
    }
    let staging = frames(&corpus);
    let work = tempfile::tempdir().unwrap();
    let (shoot, gallery) = (work.path().join("shoot"), work.path().join("gallery"));
    fs::create_dir(&shoot).unwrap();
    let flags = ["--slates", "--by-person", "--quiet"];
    let desk = Desk::start(&shoot, &gallery, "127.0.0.1:0", &flags);
    let browser = Browser::start();
    browser.goto(&desk.url);

    for (frame, _, _) in &FRAMES[..3] {
        let name = format!("{frame}.jpg");
        fs::copy(staging.path().join(&name), shoot.join(&name)).unwrap();
    }
    // B2 arrives slowly: half, a pause longer than the desk's settling time, the rest.
    let bytes = fs::read(staging.path().join("B2.jpg")).unwrap();
    let mut slow = fs::File::create(shoot.join("B2.jpg")).unwrap();
    slow.write_all(&bytes[..bytes.len() / 2]).unwrap();
    slow.flush().unwrap();
    wait_on_page(&browser, "the first three tiles", || {
        tile_count(&browser) == 3
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(tile_count(&browser), 3, "a half-written photo was shown");
    slow.write_all(&bytes[bytes.len() / 2..]).unwrap();
    drop(slow);
    wait_on_page(&browser, "B2's tile", || tile_count(&browser) == 4);
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(gallery.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        photo(&manifest, "B2")["status"],
        "ok",
        "B2 was never half-read"
    );
    assert_eq!(manifest["summary"]["failed"], 0);
    let group = photo(&manifest, "B1")["face_group"].clone();
    assert!(
        group.is_string() && group == photo(&manifest, "B2")["face_group"],
        "B1 and B2 share a face group"
    );

    // One frame: arrows, Enter, the name, Enter.
    arrow_to(&browser, "A1");
    browser.type_keys(keys::ENTER);
    browser.type_keys(&format!("Ann Lee{}", keys::ENTER));
    // A2, the same face, follows A1's name.
    wait_on_page(&browser, "A1 named, and A2 by its face", || {
        tile_of(&browser, "A1").0 == "Ann Lee" && tile_of(&browser, "A2").0 == "Ann Lee"
    });
    let namer_hidden = browser.script("return document.getElementById('namer').hidden", json!([]));
    assert_eq!(namer_hidden, true, "the name field closed after saving");
    // A face group: g selects it, Enter names every frame in it.
    arrow_to(&browser, "B1");
    browser.type_keys("g");
    browser.type_keys(keys::ENTER);
    browser.type_keys(&format!("Ben Ode{}", keys::ENTER));
    wait_on_page(&browser, "B1 and B2 named", || {
        tile_of(&browser, "B1").0 == "Ben Ode" && tile_of(&browser, "B2").0 == "Ben Ode"
    });
    // Undo: A2 (named by its face, never corrected) gets a wrong name; `u` writes `clear`, so
    // its face names it again (an `unname` would have left it unnamed for good).
    arrow_to(&browser, "A2");
    browser.type_keys(keys::ENTER);
    browser.type_keys(&format!("Wrong Name{}", keys::ENTER));
    wait_on_page(&browser, "A2 named wrongly", || {
        tile_of(&browser, "A2").0 == "Wrong Name"
    });
    browser.type_keys("u");
    wait_on_page(&browser, "A2 named by its face again", || {
        tile_of(&browser, "A2").0 == "Ann Lee"
    });
    drop(browser);

    let corrections = fs::read_to_string(gallery.join("corrections.csv")).unwrap();
    for (frame, name) in [("A1", "Ann Lee"), ("B1", "Ben Ode"), ("B2", "Ben Ode")] {
        assert!(
            corrections
                .lines()
                .any(|line| line.contains(&format!("{frame}.jpg,{name},name,"))),
            "{frame} -> {name} in\n{corrections}"
        );
    }
    assert!(
        corrections
            .lines()
            .any(|line| line.contains("A2.jpg,,clear,")),
        "undo wrote clear for A2:\n{corrections}"
    );
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(gallery.join("manifest.json")).unwrap()).unwrap();
    for (frame, name, folder) in [
        ("A1", "Ann Lee", "ann-lee/"),
        ("A2", "Ann Lee", "ann-lee/"),
        ("B1", "Ben Ode", "ben-ode/"),
        ("B2", "Ben Ode", "ben-ode/"),
    ] {
        let entry = photo(&manifest, frame);
        assert_eq!(entry["person"]["name"], name, "{frame}");
        for output in entry["outputs"].as_array().unwrap() {
            let path = output["path"].as_str().unwrap();
            assert!(
                path.starts_with(folder),
                "{frame}: {path} renamed into {folder}"
            );
            assert_eq!(exif_person(&gallery.join(path)), name, "{path}");
        }
    }
    let printed = desk.printed();
    let mut desk = desk;
    assert_eq!(
        desk.interrupt(Duration::from_secs(60)),
        Some(0),
        "{printed}"
    );

    // The desk left nothing for `run` to do: no decode, no output written.
    let mut run_flags = flags.to_vec();
    run_flags.retain(|flag| *flag != "--quiet");
    let (code, after) = run_shoot(&[&shoot], &gallery, &run_flags);
    assert_eq!(code, 0);
    assert_eq!(
        after["timing"]["counts"]["decodes"], 0,
        "{}",
        after["timing"]
    );
    assert_eq!(
        after["timing"]["counts"]["outputs_finished"], 0,
        "{}",
        after["timing"]
    );
    assert_eq!(photo(&after, "B2")["person"]["name"], "Ben Ode");
    let _ = path_arg(&shoot);
}
