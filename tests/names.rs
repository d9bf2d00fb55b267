//! Assigning names to photos through the library API: the three sheet layouts and QR slates on
//! real corpus photos, malformed sheets, names in several scripts, and printable cards.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use headshot::decode::decode;
use headshot::discover::{self, ImageFormat};
use headshot::encode::{encode_jpeg, Chroma, Effort, EncodeSettings, OutputFormat};
use headshot::exif_info::{read_exif, CaptureTime};
use headshot::names::{
    assign, read_slate, render_card, render_cards, AssignError, AssignOptions, Assignments,
    ClockOffset, EntryKey, Layout, NameSheet, NameSource, PhotoRef, Role, Roster, Unnamed,
};
use image::RgbImage;

const SCRIPT_NAMES: [&str; 3] = ["Stéphane Jolicoeur-Fidelia", "Seán O'Brien", "李小龍"];

/// A shoot copied into a temp folder, read like the pipeline does: capture order, then path.
struct Shoot {
    _dir: tempfile::TempDir,
    photos: Vec<(PathBuf, PathBuf, Option<CaptureTime>)>,
}

impl Shoot {
    /// Copies `(corpus file, path in the shoot)` pairs and discovers them.
    fn copy(corpus: &Path, files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shoot");
        for (source, destination) in files {
            let target = root.join(destination);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(corpus.join(source), &target).unwrap();
        }
        let found = discover::discover(&[root], &dir.path().join("out")).unwrap();
        let mut photos: Vec<(PathBuf, PathBuf, Option<CaptureTime>)> = found
            .files
            .into_iter()
            .map(|file| {
                let capture_time = read_exif(&fs::read(&file.path).unwrap()).info.capture_time;
                (file.path, file.relative, capture_time)
            })
            .collect();
        photos.sort_by(|a, b| (a.2.is_none(), &a.2, &a.0).cmp(&(b.2.is_none(), &b.2, &b.0)));
        Self { _dir: dir, photos }
    }

    fn refs(&self) -> Vec<PhotoRef<'_>> {
        self.refs_with_offset(ClockOffset::ZERO)
    }

    /// The photos as one camera whose clock is off by `clock_offset`.
    fn refs_with_offset(&self, clock_offset: ClockOffset) -> Vec<PhotoRef<'_>> {
        self.photos
            .iter()
            .map(|(path, relative, capture_time)| PhotoRef {
                path,
                relative,
                capture_time: capture_time.as_ref(),
                camera: None,
                clock_offset,
                clock_slate: false,
            })
            .collect()
    }

    fn sheet(&self, file_name: &str, text: &str) -> NameSheet {
        let path = self._dir.path().join(file_name);
        fs::write(&path, text).unwrap();
        NameSheet::load(&path).unwrap()
    }
}

/// `(file name, person name)` per photo in capture order.
fn named(shoot: &Shoot, assignments: &Assignments) -> Vec<(String, Option<String>)> {
    shoot
        .photos
        .iter()
        .zip(&assignments.photos)
        .map(|((path, _, _), assignment)| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                assignment.person.as_ref().map(|p| p.name.clone()),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    pairs
        .iter()
        .map(|(file, name)| (file.to_string(), name.map(str::to_string)))
        .collect()
}

/// Eight camera photos with capture times, in two folders. Capture order:
/// D70 2008-03-15 09:52:01, K10D 2008-05-04 16:47:24, 40D 2008-05-30 15:56:01.00,
/// DSCN0010 2008-10-22 16:28:39, D3100 2017-06-05 07:08:42.00, door-knocker 2018-04-27 13:17:26,
/// Pixel 2018-07-25 16:34:23.935476, canon-dslr 2019-10-26 16:07:24.54.
fn camera_shoot(corpus: &Path) -> Shoot {
    let exif = |name: &str| format!("exif/{name}");
    let files = [
        (exif("Canon_40D.jpg"), "day-a/Canon_40D.jpg"),
        (exif("Nikon_D70.jpg"), "day-a/Nikon_D70.jpg"),
        (exif("Pentax_K10D.jpg"), "day-a/Pentax_K10D.jpg"),
        (exif("DSCN0010.jpg"), "day-a/DSCN0010.jpg"),
        (
            exif("Google_Pixel_IMG_20180725_163423-tiny.jpg"),
            "day-b/Pixel.jpg",
        ),
        (exif("door-knocker.jpg"), "day-b/door-knocker.jpg"),
        (exif("canon-dslr.jpg"), "day-b/canon-dslr.jpg"),
        (exif("nikon_D3100_TypeError.jpg"), "day-b/nikon_D3100.jpg"),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(s, d)| (s.as_str(), *d)).collect();
    let shoot = Shoot::copy(corpus, &files);
    let order: Vec<String> = shoot
        .photos
        .iter()
        .map(|(path, _, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        order,
        [
            "Nikon_D70.jpg",
            "Pentax_K10D.jpg",
            "Canon_40D.jpg",
            "DSCN0010.jpg",
            "nikon_D3100.jpg",
            "door-knocker.jpg",
            "Pixel.jpg",
            "canon-dslr.jpg"
        ]
    );
    let pixel = shoot.photos[6].2.as_ref().unwrap();
    assert_eq!(
        pixel.exif_subsec().as_deref(),
        Some("935476"),
        "the Pixel photo has sub-seconds"
    );
    shoot
}

#[test]
fn file_layout_on_real_photos() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = camera_shoot(&corpus);
    let sheet = shoot.sheet(
        "names.csv",
        "\u{feff}file,name,email,company\n\
         day-a/Canon_40D.jpg,Stéphane Jolicoeur-Fidelia,s@example.org,Acme\n\
         Nikon_D70.jpg,Seán O'Brien,sean@example.org,\"O'Brien & Sons, Ltd\"\n\
         day-b\\door-knocker.jpg,李小龍,,\n\
         missing/IMG_9999.jpg,Nobody Here,,\n",
    );
    assert_eq!(sheet.layout, Layout::File);
    let result = assign(
        &NameSource::Sheet(&sheet),
        &shoot.refs(),
        &AssignOptions::default(),
    )
    .unwrap();
    assert_eq!(
        named(&shoot, &result),
        expect(&[
            ("Nikon_D70.jpg", Some("Seán O'Brien")),
            ("Pentax_K10D.jpg", None),
            ("Canon_40D.jpg", Some("Stéphane Jolicoeur-Fidelia")),
            ("DSCN0010.jpg", None),
            ("nikon_D3100.jpg", None),
            ("door-knocker.jpg", Some("李小龍")),
            ("Pixel.jpg", None),
            ("canon-dslr.jpg", None),
        ])
    );
    let sean = &result.photos[0];
    assert_eq!(
        sean.person.as_ref().unwrap().get("company"),
        Some("O'Brien & Sons, Ltd")
    );
    let by = serde_json::to_value(sean.assigned_by.as_ref().unwrap()).unwrap();
    assert_eq!(by["layout"], "file");
    assert_eq!(by["line"], 3);
    assert_eq!(result.review.missing_files.len(), 1);
    assert_eq!(result.review.missing_files[0].line, 5);
    assert_eq!(result.review.names_without_photos.len(), 1);
    assert_eq!(result.review.names_without_photos[0].name, "Nobody Here");
    assert_eq!(result.review.unnamed_photos.len(), 5);
    assert!(result
        .review
        .unnamed_photos
        .iter()
        .all(|u| u.reason == Unnamed::NotInSheet));
}

#[test]
fn a_bare_name_in_two_folders_is_an_error_naming_both() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = Shoot::copy(
        &corpus,
        &[
            ("exif/DSCN0010.jpg", "cam1/DSCN0010.jpg"),
            ("exif/DSCN0010.jpg", "cam2/DSCN0010.jpg"),
        ],
    );
    let sheet = shoot.sheet("names.csv", "file,name\nDSCN0010.jpg,Ann\n");
    let error = assign(
        &NameSource::Sheet(&sheet),
        &shoot.refs(),
        &AssignOptions::default(),
    )
    .unwrap_err();
    let AssignError::AmbiguousFile {
        line, candidates, ..
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!(*line, 2);
    assert_eq!(candidates.len(), 2);
    let message = error.to_string();
    assert!(
        message.contains("names.csv:2:") && message.contains("cam1") && message.contains("cam2"),
        "{message}"
    );
    // Saying which folder resolves it.
    let sheet = shoot.sheet("names2.csv", "file,name\ncam2/DSCN0010.jpg,Ann\n");
    let result = assign(
        &NameSource::Sheet(&sheet),
        &shoot.refs(),
        &AssignOptions::default(),
    )
    .unwrap();
    let named: Vec<bool> = result.photos.iter().map(|p| p.person.is_some()).collect();
    let cam2 = shoot
        .photos
        .iter()
        .position(|(p, _, _)| p.to_string_lossy().contains("cam2"))
        .unwrap();
    assert!(named[cam2] && named.iter().filter(|n| **n).count() == 1);
}

#[test]
fn first_file_layout_on_real_photos() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = camera_shoot(&corpus);
    let sheet = shoot.sheet(
        "signup.tsv",
        "first_file\tname\tcompany\n\
         Pentax_K10D.jpg\tStéphane Jolicoeur-Fidelia\tAcme\n\
         day-b/nikon_D3100.jpg\tSeán O'Brien\t\n\
         Pixel.jpg\t李小龍\tKung Fu Ltd\n",
    );
    assert_eq!(sheet.layout, Layout::FirstFile);
    let result = assign(
        &NameSource::Sheet(&sheet),
        &shoot.refs(),
        &AssignOptions::default(),
    )
    .unwrap();
    let [stephane, sean, bruce] = SCRIPT_NAMES.map(Some);
    assert_eq!(
        named(&shoot, &result),
        expect(&[
            ("Nikon_D70.jpg", None),
            ("Pentax_K10D.jpg", stephane),
            ("Canon_40D.jpg", stephane),
            ("DSCN0010.jpg", stephane),
            ("nikon_D3100.jpg", sean),
            ("door-knocker.jpg", sean),
            ("Pixel.jpg", bruce),
            ("canon-dslr.jpg", bruce),
        ])
    );
    assert_eq!(result.photos[0].unnamed, Some(Unnamed::BeforeFirstRow));
    let seqs: Vec<Option<usize>> = result.photos.iter().map(|p| p.person_seq).collect();
    assert_eq!(
        seqs,
        [
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(1),
            Some(2),
            Some(1),
            Some(2)
        ]
    );
    assert_eq!(
        result.photos[7].person.as_ref().unwrap().get("company"),
        Some("Kung Fu Ltd")
    );
    assert!(result.review.warnings.is_empty() && result.review.missing_files.is_empty());
}

const TIME_SHEET: &str = "time,name\n\
    2008-03-15 09:50:00,Ann\n\
    2008-05-04T16:47:24,Bob\n\
    2018-07-25 16:34:23.9,Cy\n\
    2018-07-25 16:34:23.95,Dee\n\
    16:00:00,Eve\n";

#[test]
fn time_layout_on_real_photos_with_dates_bare_times_and_max_gap() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = camera_shoot(&corpus);
    let sheet = shoot.sheet("log.csv", TIME_SHEET);
    assert_eq!(sheet.layout, Layout::Time);
    assert!(matches!(&sheet.entries[4].key, EntryKey::Time(t) if t.date.is_none()));
    let options = AssignOptions {
        max_gap: Some(Duration::from_secs(3600)),
    };
    let result = assign(&NameSource::Sheet(&sheet), &shoot.refs(), &options).unwrap();
    assert_eq!(
        named(&shoot, &result),
        expect(&[
            ("Nikon_D70.jpg", Some("Ann")),   // 09:52:01, 2 min after Ann
            ("Pentax_K10D.jpg", Some("Bob")), // exactly at Bob's entry
            ("Canon_40D.jpg", None),          // 26 days after Bob, 15:56 is before Eve's 16:00
            ("DSCN0010.jpg", Some("Eve")),    // a bare time matches on the photo's own date
            ("nikon_D3100.jpg", None),
            ("door-knocker.jpg", None),
            ("Pixel.jpg", Some("Cy")), // 16:34:23.935 is after 23.9 and before 23.95
            ("canon-dslr.jpg", Some("Eve")),
        ])
    );
    assert!(matches!(
        result.photos[2].unnamed,
        Some(Unnamed::TooLongAfterEntry { line: 3, .. })
    ));
    let missing: Vec<&str> = result
        .review
        .names_without_photos
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(missing, ["Dee"]);
    // Without a maximum gap, the latest entry wins however old.
    let result = assign(
        &NameSource::Sheet(&sheet),
        &shoot.refs(),
        &AssignOptions::default(),
    )
    .unwrap();
    assert_eq!(result.photos[2].person.as_ref().unwrap().name, "Bob");
}

#[test]
fn time_layout_clock_offset_is_added_and_counts_subseconds() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let shoot = camera_shoot(&corpus);
    let sheet = shoot.sheet("log.csv", TIME_SHEET);
    let run = |offset: &str| {
        let options = AssignOptions {
            max_gap: Some(Duration::from_secs(3600)),
        };
        let refs = shoot.refs_with_offset(offset.parse().unwrap());
        let result = assign(&NameSource::Sheet(&sheet), &refs, &options).unwrap();
        named(&shoot, &result)
            .into_iter()
            .map(|(_, name)| name)
            .collect::<Vec<_>>()
    };
    let name = |text: &str| Some(text.to_string());
    // The Pixel's 16:34:23.935476 moved by 50 ms either way crosses Dee's or Cy's entry.
    assert_eq!(run("+00:00:00.05")[6], name("Dee"));
    assert_eq!(run("-00:00:00.05")[6], name("Eve"));
    // A camera two minutes fast takes -00:02:00: 09:52:01 becomes 09:50:01, still Ann.
    assert_eq!(run("-00:02:00")[0], name("Ann"));
    // Three minutes back puts the D70 before Ann's entry.
    let refs = shoot.refs_with_offset("-00:03:00".parse().unwrap());
    let result = assign(&NameSource::Sheet(&sheet), &refs, &AssignOptions::default()).unwrap();
    assert_eq!(result.photos[0].unnamed, Some(Unnamed::BeforeFirstEntry));
}

// ---------------------------------------------------------------------------------------------
// Slates

fn decode_upright(bytes: &[u8]) -> RgbImage {
    let decoded = decode(bytes, ImageFormat::Jpeg, 1.0, 500).unwrap();
    let orientation = read_exif(bytes).info.orientation;
    headshot::orient::to_upright(decoded.image, orientation)
}

fn grey_to_rgb(image: &image::GrayImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let v = image.get_pixel(x, y)[0];
        image::Rgb([v, v, v])
    })
}

/// A bare QR code (no card), made with the encoder directly: `module_px` per module, 4 quiet.
fn bare_qr(payload: &str, module_px: u32) -> RgbImage {
    let code = qrcode::QrCode::new(payload.as_bytes()).unwrap();
    let modules = code.width() as u32;
    let colors = code.to_colors();
    let side = (modules + 8) * module_px;
    RgbImage::from_fn(side, side, |x, y| {
        let (column, row) = (x / module_px, y / module_px);
        let dark = (4..modules + 4).contains(&column)
            && (4..modules + 4).contains(&row)
            && colors[((row - 4) * modules + column - 4) as usize] == qrcode::Color::Dark;
        if dark {
            image::Rgb([20, 20, 25])
        } else {
            image::Rgb([245, 245, 240])
        }
    })
}

/// `card` held up in front of the photo: scaled so its width is `fraction` of the photo's,
/// pasted off-centre, the frame slightly blurred, then through a JPEG round trip.
fn hold_up(photo: &RgbImage, card: &RgbImage, fraction: f64) -> RgbImage {
    let width = (photo.width() as f64 * fraction) as u32;
    let height = (card.height() as f64 * width as f64 / card.width() as f64) as u32;
    let card = image::imageops::resize(card, width, height, image::imageops::FilterType::Triangle);
    let mut frame = photo.clone();
    let left = (photo.width() - width) / 3;
    let top = photo.height().saturating_sub(height) / 2;
    image::imageops::replace(&mut frame, &card, i64::from(left), i64::from(top));
    let frame = image::imageops::blur(&frame, 1.2);
    let settings = EncodeSettings {
        format: OutputFormat::Jpeg,
        quality: 82,
        chroma: Chroma::Quarter,
        progressive: false,
        effort: Effort::Fast,
    };
    decode_upright(&encode_jpeg(&frame, &settings, &[]).unwrap())
}

#[test]
fn slates_in_a_sequence_of_real_photos() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let faces = corpus.join("faces");
    let photo = |name: &str| decode_upright(&fs::read(faces.join(name)).unwrap());
    let roster_dir = tempfile::tempdir().unwrap();
    let roster_path = roster_dir.path().join("roster.csv");
    fs::write(
        &roster_path,
        "id,name,email\nA1,Seán O'Brien,sean@example.org\nB2,李小龍,\nC3,Stéphane Jolicoeur-Fidelia,\n",
    )
    .unwrap();
    let roster = Roster::load(&roster_path).unwrap();
    let card = |id: &str| {
        let entry = roster.by_id(id).unwrap();
        grey_to_rgb(&render_card(id, &entry.person.name, 1200).unwrap().image)
    };

    // (file, image): the slates are real portraits with a card held up in front.
    let frames: Vec<(&str, RgbImage)> = vec![
        ("johnsnow_test1.jpg", photo("johnsnow_test1.jpg")),
        (
            "slate-A1.jpg",
            hold_up(&photo("rose_leslie_img2.jpg"), &card("A1"), 0.45),
        ),
        ("obama.jpg", photo("obama.jpg")),
        ("biden.jpg", photo("biden.jpg")),
        (
            "slate-unknown.jpg",
            hold_up(
                &photo("Tom_Cruise_avp_2014_4.jpg"),
                &bare_qr("ZZ-404", 12),
                0.4,
            ),
        ),
        ("alex_lacamoire_img1.jpg", photo("alex_lacamoire_img1.jpg")),
        (
            "slate-B2.jpg",
            hold_up(&photo("angelina_jolie_1.jpg"), &card("B2"), 0.35),
        ),
        ("two_people.jpg", photo("two_people.jpg")),
        (
            "obama-720p_letterboxed.jpg",
            photo("obama-720p_letterboxed.jpg"),
        ),
    ];
    let payloads: Vec<Option<String>> = frames.iter().map(|(_, image)| read_slate(image)).collect();
    let expected_payloads: Vec<Option<&str>> = vec![
        None,
        Some("A1"),
        None,
        None,
        Some("ZZ-404"),
        None,
        Some("B2"),
        None,
        None,
    ];
    assert_eq!(
        payloads.iter().map(Option::as_deref).collect::<Vec<_>>(),
        expected_payloads
    );

    let paths: Vec<PathBuf> = frames.iter().map(|(name, _)| faces.join(name)).collect();
    let relatives: Vec<PathBuf> = frames.iter().map(|(name, _)| PathBuf::from(name)).collect();
    let refs: Vec<PhotoRef<'_>> = paths
        .iter()
        .zip(&relatives)
        .map(|(path, relative)| PhotoRef {
            path,
            relative,
            capture_time: None,
            camera: None,
            clock_offset: ClockOffset::ZERO,
            clock_slate: false,
        })
        .collect();
    let source = NameSource::Slates {
        payloads: &payloads,
        roster: Some(&roster),
    };
    let result = assign(&source, &refs, &AssignOptions::default()).unwrap();

    let roles: Vec<Role> = result.photos.iter().map(|p| p.role).collect();
    use Role::{Portrait as P, Slate as S};
    assert_eq!(roles, [P, S, P, P, S, P, S, P, P]);
    let names: Vec<Option<&str>> = result
        .photos
        .iter()
        .map(|p| p.person.as_ref().map(|person| person.name.as_str()))
        .collect();
    let (sean, bruce) = (Some("Seán O'Brien"), Some("李小龍"));
    assert_eq!(
        names,
        [None, sean, sean, sean, None, None, bruce, bruce, bruce]
    );
    assert_eq!(result.photos[0].unnamed, Some(Unnamed::BeforeFirstSlate));
    assert!(
        matches!(&result.photos[5].unnamed, Some(Unnamed::AfterUnmatchedSlate { slate }) if slate == Path::new("slate-unknown.jpg"))
    );
    let by = serde_json::to_value(result.photos[3].assigned_by.as_ref().unwrap()).unwrap();
    assert_eq!(
        by,
        serde_json::json!({"layout": "slate", "slate": "slate-A1.jpg"})
    );
    assert_eq!(
        result.photos[3].person.as_ref().unwrap().get("email"),
        Some("sean@example.org")
    );
    assert_eq!(result.review.unmatched_slates.len(), 1);
    assert_eq!(result.review.unmatched_slates[0].payload, "ZZ-404");
    let missing: Vec<&str> = result
        .review
        .names_without_photos
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(missing, ["Stéphane Jolicoeur-Fidelia"]);
    let unnamed: Vec<&Path> = result
        .review
        .unnamed_photos
        .iter()
        .map(|u| u.photo.as_path())
        .collect();
    assert_eq!(
        unnamed,
        [
            Path::new("johnsnow_test1.jpg"),
            Path::new("alex_lacamoire_img1.jpg")
        ]
    );
}

#[test]
fn without_a_roster_the_slate_payload_is_the_name() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let portrait = decode_upright(&fs::read(corpus.join("faces/obama.jpg")).unwrap());
    let slate = hold_up(&portrait, &bare_qr("李小龍", 10), 0.5);
    let payloads = vec![read_slate(&slate), read_slate(&portrait)];
    assert_eq!(payloads[0].as_deref(), Some("李小龍"));
    let (paths, relatives) = (
        [PathBuf::from("a.jpg"), PathBuf::from("b.jpg")],
        [PathBuf::from("a.jpg"), PathBuf::from("b.jpg")],
    );
    let refs: Vec<PhotoRef<'_>> = (0..2)
        .map(|i| PhotoRef {
            path: &paths[i],
            relative: &relatives[i],
            capture_time: None,
            camera: None,
            clock_offset: ClockOffset::ZERO,
            clock_slate: false,
        })
        .collect();
    let result = assign(
        &NameSource::Slates {
            payloads: &payloads,
            roster: None,
        },
        &refs,
        &AssignOptions::default(),
    )
    .unwrap();
    assert_eq!(result.photos[1].person.as_ref().unwrap().name, "李小龍");
    assert!(result.review.is_clean(), "{:?}", result.review);
}

// ---------------------------------------------------------------------------------------------
// Sheets

#[test]
fn malformed_sheets_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "missing-name.csv",
            "file,email\nA.jpg,a@example.org\n",
            1,
            "no `name` column",
        ),
        (
            "unknown.csv",
            "# export from the desk\nphoto,name\nA.jpg,Ann\n",
            2,
            "unknown layout",
        ),
        (
            "bad-time.csv",
            "time,name\n09:00:00,Ann\n9h30,Bob\n",
            3,
            "bad time \"9h30\"",
        ),
        (
            "bad-date.tsv",
            "time\tname\n2024-13-01 09:00:00\tAnn\n",
            2,
            "no such month",
        ),
        (
            "duplicate.csv",
            "file,name\nA.jpg,Ann\nB.jpg,Bob\n\nA.jpg,Cy\n",
            5,
            "lines 2 and 5",
        ),
        (
            "duplicate-first.csv",
            "first_file,name\nA.jpg,Ann\n./A.jpg,Bob\n",
            3,
            "lines 2 and 3",
        ),
        ("empty-name.csv", "file,name\nA.jpg,  \n", 2, "empty `name`"),
    ];
    for (file_name, text, line, needle) in cases {
        let path = dir.path().join(file_name);
        fs::write(&path, text).unwrap();
        let error = NameSheet::load(&path).unwrap_err();
        let message = error.to_string();
        assert_eq!(error.line(), Some(line), "{file_name}: {message}");
        assert!(
            message.contains(&format!("{file_name}:{line}:")),
            "{message}"
        );
        assert!(
            message.contains(needle),
            "{file_name}: {message:?} lacks {needle:?}"
        );
    }
    let error = NameSheet::load(&dir.path().join("absent.csv")).unwrap_err();
    assert!(error.to_string().contains("absent.csv"), "{error}");
}

#[test]
fn names_in_any_script_survive_loading() {
    let dir = tempfile::tempdir().unwrap();
    // UTF-8 with a BOM, quoted fields, CRLF.
    let csv_path = dir.path().join("names.csv");
    let mut csv_text = String::from("\u{feff}file,name,tags\r\n");
    for (index, name) in SCRIPT_NAMES.iter().enumerate() {
        csv_text.push_str(&format!("IMG_{index}.jpg,\"{name}\",speaker\r\n"));
    }
    fs::write(&csv_path, &csv_text).unwrap();
    // UTF-16 little-endian TSV, as Excel's "Unicode Text" saves it.
    let tsv_path = dir.path().join("names.txt");
    let mut tsv_text = String::from("time\tname\n");
    for (index, name) in SCRIPT_NAMES.iter().enumerate() {
        tsv_text.push_str(&format!("10:0{index}:00\t{name}\n"));
    }
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(tsv_text.encode_utf16().flat_map(u16::to_le_bytes));
    fs::write(&tsv_path, utf16).unwrap();

    for path in [&csv_path, &tsv_path] {
        let sheet = NameSheet::load(path).unwrap();
        let names: Vec<&str> = sheet
            .entries
            .iter()
            .map(|e| e.person.name.as_str())
            .collect();
        assert_eq!(names, SCRIPT_NAMES, "{}", path.display());
    }
    let slugs: Vec<String> = SCRIPT_NAMES
        .iter()
        .map(|n| headshot::naming::slug(n))
        .collect();
    assert_eq!(slugs[0], "stephane-jolicoeur-fidelia");
    assert_eq!(slugs[1], "sean-obrien");
}

#[test]
fn cards_print_every_attendee_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let roster_path = dir.path().join("roster.csv");
    fs::write(
        &roster_path,
        "id,name,company\nS-001,Stéphane Jolicoeur-Fidelia,Acme\nS-002,Seán O'Brien,\nS-003,李小龍,\nS-004,Zoë 🙂 Smile,\n",
    )
    .unwrap();
    let roster = Roster::load(&roster_path).unwrap();
    let out = dir.path().join("cards");
    let set = render_cards(&roster, &out).unwrap();
    assert_eq!(set.cards.len(), 4);
    assert!(
        set.cards[0].ends_with("s-001-stephane-jolicoeur-fidelia.png"),
        "{:?}",
        set.cards[0]
    );
    for (card_path, entry) in set.cards.iter().zip(&roster.entries) {
        let card = image::open(card_path).unwrap().to_rgb8();
        assert_eq!(card.width(), 1200);
        assert_eq!(
            read_slate(&card).as_deref(),
            Some(entry.id.as_str()),
            "{}",
            card_path.display()
        );
    }
    let page = image::open(&set.page).unwrap();
    assert!(
        page.width() >= 1800 && page.height() >= 600,
        "{}x{}",
        page.width(),
        page.height()
    );
    // Only the emoji lacks a glyph, and that is said, with its line.
    assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
    assert!(
        set.warnings[0].contains("roster.csv line 5") && set.warnings[0].contains("U+1F642"),
        "{}",
        set.warnings[0]
    );
}
