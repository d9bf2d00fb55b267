//! A booth shoot built the way a booth runs (issue 13): slate cards made by `headshot slates`
//! pasted into frames, capture times and one camera body set with exiftool, identity-corpus
//! portraits between the slates, and one slate forgotten. The forgotten person's frames are
//! flagged and no correctly named frame is; with the roster's reference photos the flag says who
//! it is, and frames with no slate at all are named from the references alone, never wrongly.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, headshot, make_jpeg, path_arg, run_shoot, tool_available};
use serde_json::Value;

/// What a frame shows: a slate card (attendee id), or an identity-corpus portrait of someone.
#[derive(Clone, Copy)]
enum Shot {
    Slate(&'static str),
    Face(&'static str, &'static str),
}

/// Frame, what it shows, capture time. Cat's slate (C3) was forgotten: her frames follow Ben's.
const BOOTH: [(&str, Shot, &str); 13] = [
    ("S1", Shot::Slate("A1"), "10:00:00"),
    ("A1", Shot::Face("img13", "Ann"), "10:00:20"),
    ("A2", Shot::Face("img14", "Ann"), "10:00:40"),
    ("A3", Shot::Face("img15", "Ann"), "10:01:00"),
    ("S2", Shot::Slate("B2"), "10:05:00"),
    ("B1", Shot::Face("img16", "Ben"), "10:05:20"),
    ("B2", Shot::Face("img17", "Ben"), "10:05:40"),
    ("B3", Shot::Face("img59", "Ben"), "10:06:00"),
    ("C1", Shot::Face("img1", "Cat"), "10:10:20"),
    ("C2", Shot::Face("img2", "Cat"), "10:10:40"),
    ("S4", Shot::Slate("D4"), "10:15:00"),
    ("D1", Shot::Face("img8", "Dan"), "10:15:20"),
    ("D2", Shot::Face("img9", "Dan"), "10:15:40"),
];

/// Roster id, name, reference photo (another identity-corpus photo of the same person).
const PEOPLE: [(&str, &str, &str); 4] = [
    ("A1", "Ann", "img57"),
    ("B2", "Ben", "img61"),
    ("C3", "Cat", "img4"),
    ("D4", "Dan", "img48"),
];

/// A temp folder: `shoot/` (the frames), `plain-roster.csv` beside it, `cards/` from
/// `headshot slates`, and `roster.csv` with `refs/` (reference photos) beside the shoot or in it.
struct Booth {
    dir: tempfile::TempDir,
    references_in_shoot: bool,
}

impl Booth {
    /// The booth shoot; `slates: false` leaves the slate frames out (frames only).
    fn new(corpus: &Path, slates: bool, references_in_shoot: bool) -> Self {
        let booth = Booth {
            dir: tempfile::tempdir().unwrap(),
            references_in_shoot,
        };
        let refs = booth.reference_roster().parent().unwrap().join("refs");
        fs::create_dir_all(&refs).unwrap();
        fs::create_dir_all(booth.shoot()).unwrap();
        let plain: String = PEOPLE
            .iter()
            .map(|(id, name, _)| format!("{id},{name}\n"))
            .collect();
        fs::write(booth.plain_roster(), format!("id,name\n{plain}")).unwrap();
        let mut with_photos = String::from("id,name,photo\n");
        for (id, name, reference) in PEOPLE {
            let photo = format!("refs/{}.jpg", name.to_lowercase());
            let source = corpus.join(format!("identity/{reference}.jpg"));
            fs::copy(source, refs.join(format!("{}.jpg", name.to_lowercase()))).unwrap();
            with_photos.push_str(&format!("{id},{name},{photo}\n"));
        }
        // An attendee whose "photo" shows no face: a warning, not a failure.
        let no_face = make_jpeg(&common::test_picture(640, 480));
        fs::write(refs.join("eve.jpg"), no_face).unwrap();
        with_photos.push_str("E5,Eve,refs/eve.jpg\n");
        fs::write(booth.reference_roster(), with_photos).unwrap();
        booth.make_frames(corpus, slates);
        booth
    }

    fn shoot(&self) -> PathBuf {
        self.dir.path().join("shoot")
    }

    fn plain_roster(&self) -> PathBuf {
        self.dir.path().join("plain-roster.csv")
    }

    fn reference_roster(&self) -> PathBuf {
        match self.references_in_shoot {
            true => self.shoot().join("roster.csv"),
            false => self.dir.path().join("roster.csv"),
        }
    }

    fn make_frames(&self, corpus: &Path, slates: bool) {
        let cards = self.dir.path().join("cards");
        let printed = headshot(&[
            "slates",
            "--roster",
            path_arg(&self.plain_roster()),
            "--out",
            path_arg(&cards),
        ]);
        assert!(printed.status.success(), "{printed:?}");
        for (frame, shot, time) in BOOTH {
            let file = self.shoot().join(format!("{frame}.jpg"));
            match shot {
                Shot::Slate(_) if !slates => continue,
                Shot::Slate(id) => fs::write(&file, slate_frame(corpus, &cards, id)).unwrap(),
                Shot::Face(source, _) => {
                    fs::copy(corpus.join(format!("identity/{source}.jpg")), &file).unwrap();
                }
            }
            let status = Command::new("exiftool")
                .args(["-q", "-overwrite_original"])
                .args(["-Make=Canon", "-Model=Canon EOS R6"])
                .args(["-ExifIFD:SerialNumber=BOOTH-1"])
                .arg(format!("-DateTimeOriginal=2026:05:01 {time}"))
                .arg(&file)
                .status()
                .unwrap();
            assert!(status.success(), "exiftool on {frame}");
        }
    }

    fn run(&self, out: &str, roster: &Path) -> Value {
        let out = self.dir.path().join(out);
        let roster = ["--slates", "--roster", path_arg(roster)];
        let (code, manifest) = run_shoot(&[&self.shoot()], &out, &roster);
        assert_eq!(code, 0, "{manifest}");
        manifest
    }
}

/// A frame of someone holding up the card `headshot slates` printed for `id`.
fn slate_frame(corpus: &Path, cards: &Path, id: &str) -> Vec<u8> {
    let card_file = fs::read_dir(cards)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
            name.starts_with(&format!("{}-", id.to_lowercase()))
        })
        .unwrap_or_else(|| panic!("no card for {id} in {}", cards.display()));
    let card = image::open(&card_file).unwrap().to_rgb8();
    let mut frame = common::decode_jpeg(&corpus.join("faces/rose_leslie_img2.jpg"));
    let width = frame.width() * 45 / 100;
    let height = card.height() * width / card.width();
    let card = image::imageops::resize(&card, width, height, image::imageops::FilterType::Triangle);
    let (left, top) = (frame.width() / 4, (frame.height() - height) / 2);
    image::imageops::replace(&mut frame, &card, i64::from(left), i64::from(top));
    make_jpeg(&frame)
}

/// Per frame of the manifest: (its source frame label, name given, needs_review).
fn frames(manifest: &Value) -> Vec<(String, Option<String>, Option<String>)> {
    manifest["photos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|photo| photo["role"] == "portrait")
        .map(|photo| {
            let source = Path::new(photo["source"].as_str().unwrap());
            let frame = source.file_stem().unwrap().to_string_lossy().into_owned();
            let name = photo["person"]["name"].as_str().map(str::to_string);
            let review = photo["needs_review"].as_str().map(str::to_string);
            (frame, name, review)
        })
        .collect()
}

fn truth(frame: &str) -> &'static str {
    BOOTH
        .iter()
        .find_map(|(label, shot, _)| match shot {
            Shot::Face(_, person) if *label == frame => Some(*person),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{frame} is not a portrait of the booth"))
}

/// Exactly the wrongly named frames are flagged; returns the flags by frame.
fn check_flags(manifest: &Value) -> Vec<(String, String)> {
    let mut flagged = Vec::new();
    for (frame, name, review) in frames(manifest) {
        let wrong = name.as_deref().is_some_and(|name| name != truth(&frame));
        let face_flag = review.filter(|r| r.contains("face does not match"));
        assert_eq!(
            wrong,
            face_flag.is_some(),
            "{frame} {name:?}: {face_flag:?}"
        );
        flagged.extend(face_flag.map(|flag| (frame, flag)));
    }
    flagged
}

/// Descriptors stay in the analysis cache: not in the manifest, the CSV or the page.
fn assert_no_descriptors(out: &Path) {
    for file in ["manifest.json", "manifest.csv", "index.html"] {
        let text = fs::read_to_string(out.join(file)).unwrap();
        assert!(!text.contains("descriptor"), "{file} holds a descriptor");
    }
}

#[test]
fn a_forgotten_slate_is_flagged_and_reference_photos_say_who_it_is() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") {
        return;
    }
    let booth = Booth::new(&corpus, true, false);

    // Slates only: Cat's frames carry Ben's name, are flagged, and look like each other.
    let manifest = booth.run("plain", &booth.plain_roster());
    let slates = manifest["photos"].as_array().unwrap().iter();
    assert_eq!(slates.filter(|p| p["role"] == "slate").count(), 3);
    let flagged = check_flags(&manifest);
    let expected = [
        (
            "C1",
            "face does not match the other 3 photos of Ben; looks like the person in C2.jpg",
        ),
        (
            "C2",
            "face does not match the other 3 photos of Ben; looks like the person in C1.jpg",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(frame, flag)| (frame.to_string(), flag.to_string()))
        .collect();
    assert_eq!(flagged, expected);

    // With reference photos: the flag names Cat; the references make no outputs.
    let out = booth.dir.path().join("refs");
    let manifest = booth.run("refs", &booth.reference_roster());
    let flagged = check_flags(&manifest);
    let frames_flagged: Vec<&str> = flagged.iter().map(|(frame, _)| frame.as_str()).collect();
    assert_eq!(frames_flagged, ["C1", "C2"]);
    assert!(
        flagged
            .iter()
            .all(|(_, flag)| flag.ends_with("; looks like Cat")),
        "{flagged:?}"
    );
    let photos = manifest["photos"].as_array().unwrap();
    assert_eq!(photos.len(), BOOTH.len());
    assert!(photos
        .iter()
        .all(|p| !p["source"].as_str().unwrap().contains("refs")));
    assert_eq!(
        manifest["review"]["warnings"],
        serde_json::json!([format!(
            "{}:6: reference photo refs/eve.jpg: no face found; it is not used",
            booth.reference_roster().display()
        )])
    );
    assert_no_descriptors(&out);
    // Every reference is analysed once, into the cache: a re-run describes no face.
    let cached = fs::read_dir(out.join(".headshot/analysis"))
        .unwrap()
        .count();
    assert_eq!(cached, BOOTH.len() + PEOPLE.len() + 1);
    let again = booth.run("refs", &booth.reference_roster());
    assert_eq!(again["timing"]["counts"]["face_descriptions"], 0);
    assert_eq!(again["timing"]["counts"]["face_detections"], 0);
    assert_eq!(check_flags(&again), flagged);

    inspect_shows_distances(&booth);
}

/// `inspect --slates --roster R C1.jpg`: distances to each person's reference and frames.
fn inspect_shows_distances(booth: &Booth) {
    let c1 = booth.shoot().join("C1.jpg");
    let roster = booth.reference_roster();
    let args = [
        "inspect",
        "--slates",
        "--roster",
        path_arg(&roster),
        path_arg(&c1),
    ];
    let text = headshot(&args);
    assert!(text.status.success(), "{text:?}");
    let stdout = String::from_utf8_lossy(&text.stdout);
    let matches: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("face match"))
        .collect();
    assert!(
        matches
            .iter()
            .any(|l| l.contains("Cat: reference refs/cat.jpg 0.")),
        "{stdout}"
    );
    assert!(
        matches
            .iter()
            .any(|l| l.contains("Ben: reference refs/ben.jpg") && l.contains("frames ")),
        "{stdout}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json = headshot(&json_args);
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    let people = value["face_distances"]["people"].as_array().unwrap();
    let cat = people.iter().find(|p| p["person"] == "Cat").unwrap();
    assert!(cat["frames"].as_array().unwrap().is_empty(), "{cat}");
    let cat_distance = cat["reference"]["distance"].as_f64().unwrap();
    assert!(cat_distance < 0.55, "{cat_distance}");
    let ben = people.iter().find(|p| p["person"] == "Ben").unwrap();
    // C2 carries Ben's name (the forgotten slate), so it is among Ben's frames.
    assert!(ben["frames"].as_array().unwrap().len() == 3, "{ben}");
    assert!(!String::from_utf8_lossy(&json.stdout).contains("descriptor"));
}

#[test]
fn reference_photos_name_frames_without_slates_never_wrongly() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") {
        return;
    }
    let booth = Booth::new(&corpus, false, true);
    let manifest = booth.run("faces", &booth.reference_roster());
    // References kept inside the shoot folder are no photos of it.
    let photos = manifest["photos"].as_array().unwrap();
    assert!(photos
        .iter()
        .all(|p| !p["source"].as_str().unwrap().contains("refs")));
    let mut named = 0;
    for photo in manifest["photos"].as_array().unwrap() {
        let source = Path::new(photo["source"].as_str().unwrap());
        let frame = source.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(name) = photo["person"]["name"].as_str() else {
            continue;
        };
        assert_eq!(name, truth(&frame), "{frame} named wrongly");
        let by = &photo["assigned_by"];
        assert_eq!(by["layout"], "face", "{frame}");
        // No frame carries a name to compare with: the match is the person's reference photo.
        let reference = format!("refs/{}.jpg", name.to_lowercase());
        assert_eq!(by["like"], reference.as_str(), "{frame}");
        let distance = by["distance"].as_f64().unwrap();
        eprintln!("{frame}: {name} by reference, distance {distance}");
        assert!(distance <= 0.55, "{by}");
        assert!(
            photo["needs_review"].is_null(),
            "{frame}: {}",
            photo["needs_review"]
        );
        named += 1;
    }
    let portraits = BOOTH.iter();
    let portraits = portraits.filter(|(_, shot, _)| matches!(shot, Shot::Face(..)));
    let portraits = portraits.count();
    eprintln!("{named} of {portraits} frames named from reference photos alone");
    assert!(named >= 8, "only {named} of {portraits} frames named");
    let missing = &manifest["review"]["names_without_photos"];
    assert_eq!(missing.as_array().unwrap().len(), 1, "{missing}");
    assert_eq!(missing[0]["name"], "Eve");
}
