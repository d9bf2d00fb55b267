//! Metadata read back by exiftool: every field this run writes into a derivative
//! (EXIF, XMP, IPTC-IIM), names in several scripts, exiftool's validation, and what
//! each metadata policy keeps from real camera files in `../shared/corpus`.

mod common;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

use headshot::metadata::{
    insert_segments_into_jpeg, jpeg_segments, xmp_sidecar, CaptureTime, FaceRegion, MetadataPolicy,
    OutputMetadata, PixelSize, Ratio,
};
use serde_json::{json, Map, Value};

const NAMES: [&str; 3] = ["Stéphane Jolicoeur-Fidelia", "Seán O'Brien", "李小龍"];

/// True when exiftool runs. When it does not: fails under HEADSHOT_REQUIRE_TOOLS=1
/// (CI), otherwise prints SKIPPED and lets the test return.
fn exiftool_available() -> bool {
    let works = Command::new("exiftool")
        .arg("-ver")
        .output()
        .is_ok_and(|output| output.status.success());
    if !works {
        assert!(
            std::env::var("HEADSHOT_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "exiftool is required (HEADSHOT_REQUIRE_TOOLS=1) but not installed"
        );
        println!("SKIPPED: exiftool not installed");
    }
    works
}

/// The shared corpus folder, `../shared/corpus` beside the crate. When missing:
/// fails under HEADSHOT_REQUIRE_CORPUS=1, otherwise prints SKIPPED and gives None.
fn corpus_dir() -> Option<PathBuf> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if corpus.is_dir() {
        return Some(corpus);
    }
    assert!(
        std::env::var("HEADSHOT_REQUIRE_CORPUS").as_deref() != Ok("1"),
        "corpus folder {} is required (HEADSHOT_REQUIRE_CORPUS=1) but missing",
        corpus.display()
    );
    println!("SKIPPED: corpus folder {} not found", corpus.display());
    None
}

/// A small gradient JPEG from mozjpeg, with `segments` written by the encoder
/// itself, as the pipeline does.
fn encode_jpeg(size: PixelSize, segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let (width, height) = (size.width as usize, size.height as usize);
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[(x * 255 / width) as u8, (y * 255 / height) as u8, 128]);
        }
    }
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(width, height);
    compress.set_quality(85.0);
    let mut started = compress.start_compress(Vec::new()).expect("start JPEG");
    for (app, payload) in segments {
        started.write_marker(mozjpeg::Marker::APP(*app), payload);
    }
    started.write_scanlines(&pixels).expect("scanlines");
    started.finish().expect("finish JPEG")
}

/// exiftool's tags for one file (`-json -G1 -a -n -struct`), plus `extra_args`.
fn exiftool_json(path: &Path, extra_args: &[&str]) -> Map<String, Value> {
    let output = Command::new("exiftool")
        .args(["-json", "-G1", "-a", "-n", "-struct"])
        .args(extra_args)
        .arg(path)
        .output()
        .expect("run exiftool");
    assert!(
        output.status.success(),
        "exiftool failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).expect("exiftool JSON");
    match parsed {
        Value::Array(mut files) if files.len() == 1 => match files.remove(0) {
            Value::Object(tags) => tags,
            other => panic!("unexpected exiftool JSON {other}"),
        },
        other => panic!("unexpected exiftool JSON {other}"),
    }
}

/// Asserts exiftool's `-validate` finds no error, warning or minor warning, and
/// prints what it did find otherwise.
#[track_caller]
fn assert_validates(path: &Path) {
    let tags = exiftool_json(path, &["-validate", "-warning", "-error"]);
    assert_eq!(
        tags.get("ExifTool:Validate"),
        Some(&json!("0 0 0")),
        "exiftool -validate on {}: {tags:#?}",
        path.display()
    );
}

#[track_caller]
fn assert_tag(tags: &Map<String, Value>, key: &str, expected: Value) {
    assert_eq!(tags.get(key), Some(&expected), "{key}; all tags: {tags:#?}");
}

fn has_group(tags: &Map<String, Value>, group: &str) -> bool {
    tags.keys().any(|key| key.starts_with(&format!("{group}:")))
}

/// Any tag, in any group, with this name.
fn find_tag<'a>(tags: &'a Map<String, Value>, name: &str) -> Option<(&'a String, &'a Value)> {
    tags.iter()
        .find(|(key, _)| key.rsplit(':').next() == Some(name))
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// One derivative naming all three people, with every field set.
fn group_photo() -> OutputMetadata {
    let mut meta = OutputMetadata::new(400, 500);
    meta.title = Some(NAMES.join(", "));
    meta.caption = Some(format!(
        "{}, {} & {} at \"Rust <Nation>\"\nDay 2",
        NAMES[0], NAMES[1], NAMES[2]
    ));
    meta.keywords = vec![
        NAMES[0].into(),
        NAMES[1].into(),
        NAMES[2].into(),
        "Rust <Nation> 2024".into(),
    ];
    meta.persons_in_image = NAMES.iter().map(|name| name.to_string()).collect();
    meta.creator = Some(NAMES[1].into());
    meta.rights = Some(format!("© 2024 {}", NAMES[2]));
    meta.event = Some("Rust <Nation> 2024".into());
    meta.capture_time = Some(
        CaptureTime::from_exif("2024:05:17 14:03:22", Some("35"), Some("+02:00"))
            .expect("valid capture time"),
    );
    meta.camera_make = Some("Canon".into());
    meta.camera_model = Some("Canon EOS R6".into());
    meta.lens_model = Some("RF85mm F1.2 L USM".into());
    meta.exposure_time = Some(Ratio::new(1, 250));
    meta.f_number = Some(Ratio::new(28, 10));
    meta.iso = Some(400);
    meta.focal_length = Some(Ratio::new(85, 1));
    // Boxes (left, top, width, height) in the 400x500 frame.
    let boxes = [
        [0.0, 100.0, 100.0, 100.0],
        [150.0, 50.0, 100.0, 150.0],
        [300.0, 250.0, 100.0, 250.0],
    ];
    meta.face_regions = NAMES
        .iter()
        .zip(boxes)
        .map(|(name, pixel_box)| {
            FaceRegion::from_pixel_box(Some(name.to_string()), pixel_box, meta.pixel_size)
                .expect("box inside the frame")
        })
        .collect();
    meta
}

fn expected_regions() -> Value {
    let region = |name: &str, x: f64, y: f64, w: f64, h: f64| {
        json!({
            "Area": {"H": h, "Unit": "normalized", "W": w, "X": x, "Y": y},
            "Name": name,
            "Type": "Face",
        })
    };
    json!({
        "AppliedToDimensions": {"H": 500, "Unit": "pixel", "W": 400},
        "RegionList": [
            region(NAMES[0], 0.125, 0.3, 0.25, 0.2),
            region(NAMES[1], 0.5, 0.25, 0.25, 0.3),
            region(NAMES[2], 0.875, 0.75, 0.25, 0.5),
        ],
    })
}

#[test]
fn every_field_reads_back_exactly() {
    if !exiftool_available() {
        return;
    }
    let meta = group_photo();
    let segments = jpeg_segments(&meta, None, MetadataPolicy::Privacy).expect("metadata segments");
    let jpeg = encode_jpeg(meta.pixel_size, &segments);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), "group.jpg", &jpeg);
    let tags = exiftool_json(&path, &[]);

    let title = NAMES.join(", ");
    let caption = meta.caption.clone().expect("caption set");
    let rights = meta.rights.clone().expect("rights set");
    let keywords = json!([NAMES[0], NAMES[1], NAMES[2], "Rust <Nation> 2024"]);

    // XMP
    assert_tag(&tags, "XMP-dc:Title", json!(title));
    assert_tag(&tags, "XMP-dc:Description", json!(caption));
    assert_tag(&tags, "XMP-dc:Subject", keywords.clone());
    assert_tag(&tags, "XMP-dc:Creator", json!([NAMES[1]]));
    assert_tag(&tags, "XMP-dc:Rights", json!(rights));
    assert_tag(&tags, "XMP-iptcExt:PersonInImage", json!(NAMES));
    assert_tag(&tags, "XMP-iptcExt:Event", json!("Rust <Nation> 2024"));
    assert_tag(
        &tags,
        "XMP-photoshop:DateCreated",
        json!("2024:05:17 14:03:22.35+02:00"),
    );
    assert_tag(&tags, "XMP-mwg-rs:RegionInfo", expected_regions());

    // IPTC-IIM
    assert_tag(&tags, "IPTC:CodedCharacterSet", json!("\u{1b}%G"));
    assert_tag(&tags, "IPTC:ObjectName", json!(title));
    assert_tag(&tags, "IPTC:Caption-Abstract", json!(caption));
    assert_tag(&tags, "IPTC:Keywords", keywords);
    assert_tag(&tags, "IPTC:By-line", json!(NAMES[1]));
    assert_tag(&tags, "IPTC:CopyrightNotice", json!(rights));
    assert_tag(&tags, "IPTC:DateCreated", json!("2024:05:17"));
    assert_tag(&tags, "IPTC:TimeCreated", json!("14:03:22+02:00"));
    // The digest says IPTC and XMP are in sync.
    let digest = tags
        .get("Photoshop:IPTCDigest")
        .expect("IPTCDigest written");
    assert_tag(&tags, "File:CurrentIPTCDigest", digest.clone());

    // EXIF
    assert_tag(&tags, "IFD0:ImageDescription", json!(caption));
    assert_tag(&tags, "IFD0:Artist", json!(NAMES[1]));
    assert_tag(&tags, "IFD0:Copyright", json!(rights));
    assert_tag(&tags, "IFD0:Orientation", json!(1));
    assert_tag(&tags, "IFD0:Make", json!("Canon"));
    assert_tag(&tags, "IFD0:Model", json!("Canon EOS R6"));
    assert_tag(
        &tags,
        "ExifIFD:DateTimeOriginal",
        json!("2024:05:17 14:03:22"),
    );
    assert_tag(&tags, "ExifIFD:SubSecTimeOriginal", json!(35));
    assert_tag(&tags, "ExifIFD:OffsetTimeOriginal", json!("+02:00"));
    assert_tag(&tags, "ExifIFD:LensModel", json!("RF85mm F1.2 L USM"));
    assert_tag(&tags, "ExifIFD:ExposureTime", json!(0.004));
    assert_tag(&tags, "ExifIFD:FNumber", json!(2.8));
    assert_tag(&tags, "ExifIFD:ISO", json!(400));
    assert_tag(&tags, "ExifIFD:FocalLength", json!(85));
    assert_tag(&tags, "ExifIFD:ExifImageWidth", json!(400));
    assert_tag(&tags, "ExifIFD:ExifImageHeight", json!(500));
    assert_tag(&tags, "ExifIFD:ColorSpace", json!(1));

    // exiftool's MWG view (how it reconciles EXIF, IPTC and XMP) agrees.
    let mwg = exiftool_json(&path, &["-use", "MWG", "-MWG:all"]);
    assert_tag(&mwg, "MWG:Description", json!(caption));
    assert_tag(
        &mwg,
        "MWG:Keywords",
        json!([NAMES[0], NAMES[1], NAMES[2], "Rust <Nation> 2024"]),
    );
    assert_tag(&mwg, "MWG:Creator", json!(NAMES[1]));
    assert_tag(&mwg, "MWG:Copyright", json!(rights));
    assert_tag(
        &mwg,
        "MWG:DateTimeOriginal",
        json!("2024:05:17 14:03:22.35+02:00"),
    );

    assert_validates(&path);
}

#[test]
fn each_name_alone_reads_back() {
    if !exiftool_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (index, name) in NAMES.iter().enumerate() {
        let mut meta = OutputMetadata::new(240, 300);
        meta.title = Some(name.to_string());
        meta.caption = Some(format!("{name}, RustConf"));
        meta.keywords = vec![name.to_string(), "RustConf".into()];
        meta.persons_in_image = vec![name.to_string()];
        meta.creator = Some(name.to_string());
        meta.face_regions = vec![FaceRegion::from_pixel_box(
            Some(name.to_string()),
            [60.0, 75.0, 120.0, 150.0],
            meta.pixel_size,
        )
        .expect("inside")];
        let segments = jpeg_segments(&meta, None, MetadataPolicy::Strip).expect("segments");
        let path = write_file(
            dir.path(),
            &format!("person-{index}.jpg"),
            &encode_jpeg(meta.pixel_size, &segments),
        );
        let tags = exiftool_json(&path, &[]);
        assert_tag(&tags, "XMP-dc:Title", json!(name));
        assert_tag(&tags, "XMP-iptcExt:PersonInImage", json!([name]));
        assert_tag(&tags, "IPTC:ObjectName", json!(name));
        assert_tag(&tags, "IPTC:By-line", json!(name));
        assert_tag(&tags, "IFD0:Artist", json!(name));
        assert_tag(
            &tags,
            "IFD0:ImageDescription",
            json!(format!("{name}, RustConf")),
        );
        let regions = tags.get("XMP-mwg-rs:RegionInfo").expect("regions");
        assert_eq!(regions["RegionList"][0]["Name"], json!(name));
        assert_eq!(regions["RegionList"][0]["Area"]["X"], json!(0.5));
        assert_eq!(regions["RegionList"][0]["Area"]["Y"], json!(0.5));
        assert_validates(&path);
    }
}

#[test]
fn iim_limits_cut_iptc_but_not_xmp() {
    if !exiftool_available() {
        return;
    }
    let mut meta = OutputMetadata::new(64, 64);
    // 3 bytes a character: 30 characters = 90 bytes, over ObjectName's 64.
    let long_title = "李".repeat(30);
    meta.title = Some(long_title.clone());
    meta.creator = Some("Stéphane Jolicoeur-Fidelia Photography".into());
    let segments = jpeg_segments(&meta, None, MetadataPolicy::Strip).expect("segments");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(
        dir.path(),
        "long.jpg",
        &encode_jpeg(meta.pixel_size, &segments),
    );
    let tags = exiftool_json(&path, &[]);
    assert_tag(&tags, "XMP-dc:Title", json!(long_title));
    assert_tag(&tags, "IPTC:ObjectName", json!("李".repeat(21)));
    // 32-byte By-line limit; "é" is 2 bytes, so 31 bytes end on a boundary.
    assert_tag(
        &tags,
        "IPTC:By-line",
        json!("Stéphane Jolicoeur-Fidelia Phot"),
    );
    assert_tag(
        &tags,
        "XMP-dc:Creator",
        json!(["Stéphane Jolicoeur-Fidelia Photography"]),
    );
    assert_validates(&path);
}

#[test]
fn inserting_into_an_encoded_jpeg_matches_the_encoder_path() {
    if !exiftool_available() {
        return;
    }
    let meta = group_photo();
    let segments = jpeg_segments(&meta, None, MetadataPolicy::Privacy).expect("segments");
    let plain = encode_jpeg(meta.pixel_size, &[]);
    let inserted = insert_segments_into_jpeg(&plain, &segments).expect("insert");
    // Inserting twice replaces rather than duplicates.
    let reinserted = insert_segments_into_jpeg(&inserted, &segments).expect("reinsert");
    assert_eq!(reinserted, inserted);
    let from_encoder = encode_jpeg(meta.pixel_size, &segments);
    assert_eq!(
        inserted, from_encoder,
        "same bytes as mozjpeg's write_marker"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), "inserted.jpg", &inserted);
    let tags = exiftool_json(&path, &[]);
    assert_tag(&tags, "XMP-dc:Title", json!(NAMES.join(", ")));
    assert_tag(&tags, "JFIF:JFIFVersion", json!("1 1"));
    assert_validates(&path);
}

#[test]
fn sidecar_reads_back() {
    if !exiftool_available() {
        return;
    }
    let meta = group_photo();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_file(dir.path(), "DSC_0001.xmp", xmp_sidecar(&meta).as_bytes());
    let tags = exiftool_json(&path, &[]);
    assert_tag(&tags, "XMP-dc:Title", json!(NAMES.join(", ")));
    assert_tag(&tags, "XMP-dc:Description", meta.caption.clone().into());
    assert_tag(&tags, "XMP-iptcExt:PersonInImage", json!(NAMES));
    assert_tag(&tags, "XMP-mwg-rs:RegionInfo", expected_regions());
    assert!(find_tag(&tags, "Warning").is_none(), "{tags:#?}");
}

/// Source EXIF of a corpus photo as kamadak-exif reads it.
fn source_fields(path: &Path) -> Vec<exif::Field> {
    let file = File::open(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let exif = exif::Reader::new()
        .read_from_container(&mut BufReader::new(file))
        .unwrap_or_else(|error| panic!("EXIF of {}: {error}", path.display()));
    exif.fields().cloned().collect()
}

/// Writes a derivative of the corpus photo `name` under `policy` and returns
/// exiftool's tags for the source and for the derivative.
fn derivative_of(
    corpus: &Path,
    name: &str,
    policy: MetadataPolicy,
    dir: &Path,
) -> (Map<String, Value>, Map<String, Value>) {
    let source = corpus.join("exif").join(name);
    let mut meta = OutputMetadata::new(160, 200);
    meta.title = Some(NAMES[0].into());
    meta.persons_in_image = vec![NAMES[0].into()];
    meta.caption = Some(format!("{}, RustConf", NAMES[0]));
    let fields = source_fields(&source);
    let segments = jpeg_segments(&meta, Some(&fields), policy).expect("segments");
    let path = write_file(
        dir,
        &format!("{policy:?}-{name}"),
        &encode_jpeg(meta.pixel_size, &segments),
    );
    assert_validates(&path);
    (exiftool_json(&source, &[]), exiftool_json(&path, &[]))
}

/// Camera and exposure tags privacy keeps, compared with the source's values.
const CAMERA_TAGS: [&str; 9] = [
    "IFD0:Make",
    "IFD0:Model",
    "ExifIFD:DateTimeOriginal",
    "ExifIFD:ExposureTime",
    "ExifIFD:FNumber",
    "ExifIFD:ISO",
    "ExifIFD:FocalLength",
    "ExifIFD:LensModel",
    "ExifIFD:Flash",
];

/// Tags that identify the owner, the body or the place.
const PRIVATE_TAGS: [&str; 5] = [
    "SerialNumber",
    "LensSerialNumber",
    "InternalSerialNumber",
    "OwnerName",
    "GPSLatitude",
];

#[track_caller]
fn assert_camera_tags_kept(source: &Map<String, Value>, derivative: &Map<String, Value>) {
    let mut compared = 0;
    for key in CAMERA_TAGS {
        if let Some(value) = source.get(key) {
            assert_eq!(
                derivative.get(key),
                Some(value),
                "{key} kept from the source"
            );
            compared += 1;
        }
    }
    assert!(compared >= 5, "source has too few camera tags to compare");
}

#[track_caller]
fn assert_structure_rewritten(derivative: &Map<String, Value>) {
    assert_tag(derivative, "IFD0:Orientation", json!(1));
    assert_tag(derivative, "ExifIFD:ExifImageWidth", json!(160));
    assert_tag(derivative, "ExifIFD:ExifImageHeight", json!(200));
    assert!(!has_group(derivative, "IFD1"), "no thumbnail IFD");
    for maker_group in ["Nikon", "Canon", "MakerNotes"] {
        assert!(!has_group(derivative, maker_group), "maker notes dropped");
    }
    assert_tag(derivative, "XMP-dc:Title", json!(NAMES[0]));
}

#[test]
fn policies_on_a_gps_tagged_nikon_photo() {
    if !exiftool_available() {
        return;
    }
    let Some(corpus) = corpus_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let photo = "DSCN0010.jpg";

    let (source, privacy) = derivative_of(&corpus, photo, MetadataPolicy::Privacy, dir.path());
    assert!(
        has_group(&source, "GPS") && has_group(&source, "Nikon"),
        "fixture has GPS and maker notes"
    );
    assert!(
        !has_group(&privacy, "GPS"),
        "privacy drops GPS: {privacy:#?}"
    );
    assert_camera_tags_kept(&source, &privacy);
    assert_structure_rewritten(&privacy);

    let (_, keep) = derivative_of(&corpus, photo, MetadataPolicy::Keep, dir.path());
    assert_eq!(keep.get("GPS:GPSLatitude"), source.get("GPS:GPSLatitude"));
    assert_eq!(keep.get("GPS:GPSLongitude"), source.get("GPS:GPSLongitude"));
    assert_camera_tags_kept(&source, &keep);
    assert_structure_rewritten(&keep);

    let (_, strip) = derivative_of(&corpus, photo, MetadataPolicy::Strip, dir.path());
    assert!(!has_group(&strip, "GPS"));
    for key in CAMERA_TAGS {
        assert!(strip.get(key).is_none(), "strip drops {key}");
    }
    assert_structure_rewritten(&strip);
}

#[test]
fn policies_on_a_canon_dslr_with_serial_numbers() {
    if !exiftool_available() {
        return;
    }
    let Some(corpus) = corpus_dir() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let photo = "canon-dslr.jpg";

    let (source, privacy) = derivative_of(&corpus, photo, MetadataPolicy::Privacy, dir.path());
    assert!(
        source.contains_key("ExifIFD:SerialNumber")
            && source.contains_key("ExifIFD:LensSerialNumber"),
        "fixture has body and lens serial numbers"
    );
    for name in PRIVATE_TAGS {
        assert!(
            find_tag(&privacy, name).is_none(),
            "privacy drops {name}: {privacy:#?}"
        );
    }
    assert_camera_tags_kept(&source, &privacy);
    assert_structure_rewritten(&privacy);

    let (_, keep) = derivative_of(&corpus, photo, MetadataPolicy::Keep, dir.path());
    assert_eq!(
        keep.get("ExifIFD:SerialNumber"),
        source.get("ExifIFD:SerialNumber")
    );
    assert_eq!(
        keep.get("ExifIFD:LensSerialNumber"),
        source.get("ExifIFD:LensSerialNumber")
    );
    assert_camera_tags_kept(&source, &keep);
    assert_structure_rewritten(&keep);

    let (_, strip) = derivative_of(&corpus, photo, MetadataPolicy::Strip, dir.path());
    for name in PRIVATE_TAGS
        .iter()
        .chain(&["Make", "Model", "LensModel", "DateTimeOriginal"])
    {
        assert!(find_tag(&strip, name).is_none(), "strip drops {name}");
    }
    assert_structure_rewritten(&strip);
}

// ---------------------------------------------------------------------------------------------
// Through `headshot run`: names from a sheet into every block of every derivative.

/// A shoot of three camera photos named by a `file` sheet with the three script names.
fn named_shoot(corpus: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let shoot = dir.join("shoot");
    std::fs::create_dir_all(&shoot).expect("shoot folder");
    for name in ["Nikon_D70.jpg", "Canon_40D.jpg", "DSCN0010.jpg"] {
        std::fs::copy(corpus.join("exif").join(name), shoot.join(name)).expect("copy");
    }
    let sheet = write_file(
        dir,
        "names.csv",
        format!(
            "file,name,company,tags\nNikon_D70.jpg,{},Acme,speaker;keynote\nCanon_40D.jpg,\"{}\",,\nDSCN0010.jpg,{},Kung Fu Ltd,\n",
            NAMES[0], NAMES[1], NAMES[2]
        )
        .as_bytes(),
    );
    (shoot, sheet)
}

#[test]
fn run_outputs_carry_the_name_in_xmp_iptc_and_exif() {
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (shoot, sheet) = named_shoot(&corpus, dir.path());
    let out = dir.path().join("out");
    let (code, manifest) = common::run_shoot(
        &[&shoot],
        &out,
        &[
            "--names",
            common::path_arg(&sheet),
            "--event",
            "RustConf 2024",
            "--credit",
            "Ann Photo",
            "--copyright",
            "© 2024 Ann Photo",
        ],
    );
    assert_eq!(code, 0);
    for (file, name) in [
        ("Nikon_D70.jpg", NAMES[0]),
        ("Canon_40D.jpg", NAMES[1]),
        ("DSCN0010.jpg", NAMES[2]),
    ] {
        let record = common::photo(&manifest, file);
        assert_eq!(record["person"]["name"], name);
        let caption = format!("{name}, RustConf 2024");
        let mut keywords = vec![json!(name), json!("RustConf 2024")];
        if file == "Nikon_D70.jpg" {
            keywords.extend([json!("speaker"), json!("keynote")]);
        }
        for derivative in ["large", "thumb"] {
            let (path, _, _) = common::output_of(&out, record, derivative);
            assert_validates(&path);
            let tags = exiftool_json(&path, &[]);
            assert_tag(&tags, "XMP-dc:Title", json!(name));
            assert_tag(&tags, "XMP-dc:Description", json!(caption));
            assert_tag(&tags, "XMP-dc:Subject", json!(keywords));
            assert_tag(&tags, "XMP-dc:Creator", json!(["Ann Photo"]));
            assert_tag(&tags, "XMP-dc:Rights", json!("© 2024 Ann Photo"));
            assert_tag(&tags, "XMP-iptcExt:PersonInImage", json!([name]));
            assert_tag(&tags, "XMP-iptcExt:Event", json!("RustConf 2024"));
            assert_tag(&tags, "IPTC:CodedCharacterSet", json!("\u{1b}%G"));
            assert_tag(&tags, "IPTC:ObjectName", json!(name));
            assert_tag(&tags, "IPTC:Caption-Abstract", json!(caption));
            assert_tag(&tags, "IPTC:Keywords", json!(keywords));
            assert_tag(&tags, "IPTC:By-line", json!("Ann Photo"));
            assert_tag(&tags, "IPTC:CopyrightNotice", json!("© 2024 Ann Photo"));
            assert_tag(&tags, "IFD0:ImageDescription", json!(caption));
            assert_tag(&tags, "IFD0:Artist", json!("Ann Photo"));
            assert_tag(&tags, "IFD0:Copyright", json!("© 2024 Ann Photo"));
            assert_tag(&tags, "IFD0:Orientation", json!(1));
            // Capture time and camera survive the default privacy policy.
            assert!(tags.contains_key("ExifIFD:DateTimeOriginal"), "{tags:#?}");
            assert!(tags.contains_key("IFD0:Make"), "{tags:#?}");
        }
    }
}

/// An "original" that already names someone else, with a face region, caption and artist.
fn original_naming_someone_else() -> Vec<u8> {
    let mut meta = OutputMetadata::new(320, 240);
    meta.title = Some("Old Title".into());
    meta.caption = Some("Old Caption".into());
    meta.creator = Some("Old Artist".into());
    meta.persons_in_image = vec!["Old Person".into()];
    meta.keywords = vec!["Old Person".into()];
    meta.capture_time =
        Some(CaptureTime::from_exif("2024:05:17 14:03:22", None, None).expect("valid"));
    meta.face_regions = vec![FaceRegion::from_pixel_box(
        Some("Old Person".into()),
        [100.0, 50.0, 80.0, 100.0],
        meta.pixel_size,
    )
    .expect("inside")];
    let segments = jpeg_segments(&meta, None, MetadataPolicy::Keep).expect("segments");
    encode_jpeg(meta.pixel_size, &segments)
}

#[test]
fn people_and_regions_of_the_original_never_reach_the_outputs() {
    if !common::tool_available("exiftool", "-ver") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let shoot = dir.path().join("shoot");
    std::fs::create_dir_all(&shoot).expect("shoot folder");
    write_file(&shoot, "IMG_0001.jpg", &original_naming_someone_else());
    let source_tags = exiftool_json(&shoot.join("IMG_0001.jpg"), &[]);
    assert_tag(
        &source_tags,
        "XMP-iptcExt:PersonInImage",
        json!(["Old Person"]),
    );
    assert!(has_group(&source_tags, "XMP-mwg-rs"), "fixture has regions");
    let sheet = write_file(
        dir.path(),
        "names.csv",
        "file,name\nIMG_0001.jpg,Seán O'Brien\n".as_bytes(),
    );

    for (policy, with_names) in [
        ("privacy", true),
        ("privacy", false),
        ("keep", true),
        ("strip", true),
    ] {
        let out = dir.path().join(format!("out-{policy}-{with_names}"));
        let mut extra = vec!["--metadata", policy];
        if with_names {
            extra.extend(["--names", common::path_arg(&sheet)]);
        }
        let (code, manifest) = common::run_shoot(&[&shoot], &out, &extra);
        assert_eq!(code, 0);
        let (path, _, _) =
            common::output_of(&out, common::photo(&manifest, "IMG_0001.jpg"), "large");
        let tags = exiftool_json(&path, &[]);
        let context = format!("{policy}, names {with_names}: {tags:#?}");
        let text = serde_json::to_string(&tags).expect("JSON");
        assert!(!text.contains("Old Person"), "{context}");
        assert!(!text.contains("Old Title"), "{context}");
        assert!(!has_group(&tags, "XMP-mwg-rs"), "{context}");
        if with_names {
            assert_tag(&tags, "XMP-iptcExt:PersonInImage", json!([NAMES[1]]));
            assert_tag(&tags, "IPTC:ObjectName", json!(NAMES[1]));
        } else {
            assert!(find_tag(&tags, "PersonInImage").is_none(), "{context}");
        }
        if policy == "privacy" {
            // The original's caption and artist are person data this run did not set.
            assert!(
                !text.contains("Old Caption") && !text.contains("Old Artist"),
                "{context}"
            );
            assert!(tags.contains_key("ExifIFD:DateTimeOriginal"), "{context}");
        }
    }
}
