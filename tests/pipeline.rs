//! End-to-end tests of `headshot run` and `headshot inspect` on real and made-up photos.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// Each orientation set must come out upright: same picture, upright size, whatever the tag says.
#[test]
fn orientation_sets_come_out_upright_and_identical() {
    let Some(corpus) = corpus() else { return };
    let folder = corpus.join("exif/orientation");
    let out = tempfile::tempdir().unwrap();
    let (code, manifest) = run_shoot(&[&folder], out.path(), &[]);
    assert_eq!(code, 0, "{manifest:#}");

    // (set, file names, upright size of the source)
    let landscape: Vec<String> = (0..=8).map(|n| format!("Landscape_{n}.jpg")).collect();
    let portrait: Vec<String> = (0..=8).map(|n| format!("Portrait_{n}.jpg")).collect();
    let hopper: Vec<String> = (1..=8)
        .map(|n| format!("hopper_orientation_{n}.jpg"))
        .collect();
    let letter_f: Vec<String> = (1..=8).map(|n| format!("exifr_f{n}t.jpg")).collect();
    let sets = [
        (landscape, (1800, 1200), 4.0),
        (portrait, (1200, 1800), 4.0),
        (hopper, (128, 128), 6.0),
        (letter_f, (48, 80), 12.0),
    ];
    for (files, (upright_width, upright_height), tolerance) in sets {
        let reference_photo = photo(&manifest, &files[1]);
        let (reference_path, _, _) = output_of(out.path(), reference_photo, "thumb");
        let reference = small_grey(&decode_jpeg(&reference_path), 24, 24);
        for file in &files {
            let entry = photo(&manifest, file);
            assert_eq!(entry["status"], "ok", "{file}: {entry:#}");
            assert_eq!(entry["width"], upright_width, "{file}");
            assert_eq!(entry["height"], upright_height, "{file}");
            for derivative in ["large", "thumb"] {
                let (path, width, height) = output_of(out.path(), entry, derivative);
                let image = decode_jpeg(&path);
                assert_eq!(image.dimensions(), (width, height), "{file} {derivative}");
                // Upright aspect: landscape stays landscape, portrait stays portrait.
                assert_eq!(
                    width > height,
                    upright_width > upright_height,
                    "{file} {derivative} is {width}x{height}"
                );
            }
            let (thumb, _, _) = output_of(out.path(), entry, "thumb");
            let difference = mean_abs_diff(&small_grey(&decode_jpeg(&thumb), 24, 24), &reference);
            assert!(
                difference < tolerance,
                "{file} differs from {} by {difference:.1} grey levels: not upright?",
                files[1]
            );
        }
    }
}

/// Every decodable odd file produces outputs (with warnings for broken metadata); truncated fails.
#[test]
fn odd_files_are_processed_or_reported_and_the_batch_completes() {
    let Some(corpus) = corpus() else { return };
    let folder = corpus.join("exif/odd");
    let out = tempfile::tempdir().unwrap();
    let (code, manifest) = run_shoot(&[&folder], out.path(), &[]);
    assert_eq!(code, 1, "a failed photo makes the exit code 1");
    let photos = manifest["photos"].as_array().unwrap();
    assert_eq!(photos.len(), fs::read_dir(&folder).unwrap().count());
    for entry in photos {
        let source = entry["source"].as_str().unwrap();
        if source.ends_with("pillow_truncated_jpeg.jpg") {
            assert_eq!(entry["status"], "failed");
            let error = entry["error"].as_str().unwrap();
            assert!(error.contains("truncated"), "{error}");
            assert!(entry["outputs"].as_array().unwrap().is_empty());
            continue;
        }
        assert_eq!(entry["status"], "ok", "{source}: {entry:#}");
        for output in entry["outputs"].as_array().unwrap() {
            let path = out.path().join(output["path"].as_str().unwrap());
            let image = decode_jpeg(&path);
            assert_eq!(image.width() as u64, output["width"].as_u64().unwrap());
        }
    }
    for (file, warning) in [
        ("pillow_invalid-exif.jpg", "EXIF"),
        ("corrupted.jpg", "Corrupt JPEG data"),
        ("pillow_junk_jpeg_header.jpg", "extraneous bytes"),
    ] {
        let warnings = photo(&manifest, file)["warnings"].to_string();
        assert!(warnings.contains(warning), "{file}: {warnings}");
    }
    // The 2x1 image with orientation 8 is 1x2 upright.
    let rectangle = photo(&manifest, "pillow_orientation_rectangle.jpg");
    assert_eq!(
        (rectangle["width"].as_u64(), rectangle["height"].as_u64()),
        (Some(1), Some(2))
    );
    // CMYK comes out as RGB JPEG of the same size.
    let cmyk = photo(&manifest, "exifr_cmyk_swop.jpg");
    let (path, _, _) = output_of(out.path(), cmyk, "large");
    assert_eq!(decode_jpeg(&path).dimensions(), (140, 140));
}

/// Made-up bad files: each fails with a message naming the problem; good ones still come out.
#[test]
fn bad_files_fail_one_by_one_with_clear_errors() {
    let shoot = tempfile::tempdir().unwrap();
    let good = make_jpeg(&test_picture(640, 480));
    fs::write(shoot.path().join("good.jpg"), &good).unwrap();
    fs::write(shoot.path().join("empty.jpg"), b"").unwrap();
    fs::write(shoot.path().join("notes.jpg"), b"not an image, just text\n").unwrap();
    fs::write(shoot.path().join("half.jpg"), &good[..good.len() / 2]).unwrap();
    // A JPEG whose frame header claims 60000x60000 pixels (a decompression bomb).
    fs::write(
        shoot.path().join("bomb.jpg"),
        with_jpeg_size(&good, 60000, 60000),
    )
    .unwrap();
    // A PNG whose header claims 100000x100000.
    let mut png = Vec::new();
    image::RgbImage::new(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let ihdr_crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&ihdr_crc.to_be_bytes());
    fs::write(shoot.path().join("bomb.png"), &png).unwrap();

    let out = tempfile::tempdir().unwrap();
    let output = headshot(&["run", path_arg(shoot.path()), "--out", path_arg(out.path())]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(photo(&manifest, "good.jpg")["status"], "ok");
    for (file, expected) in [
        ("empty.jpg", "empty"),
        ("notes.jpg", "not a JPEG, PNG or TIFF"),
        ("half.jpg", "truncated"),
        ("bomb.jpg", "over the 250 MP limit"),
        ("bomb.png", "over the 250 MP limit"),
    ] {
        let entry = photo(&manifest, file);
        assert_eq!(entry["status"], "failed", "{file}");
        let error = entry["error"].as_str().unwrap();
        assert!(error.contains(expected), "{file}: {error}");
        assert!(stdout.contains(file), "the summary names {file}:\n{stdout}");
    }
    assert_eq!(manifest["summary"]["failed"], 5);
    assert_eq!(manifest["summary"]["ok"], 1);
}

/// CRC-32 as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Rewrites the SOF0 frame size of a baseline JPEG.
fn with_jpeg_size(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg.to_vec();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG has SOF0");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

fn snapshot(folder: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut files = BTreeMap::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(dir) = folders.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let modified = entry.metadata().unwrap().modified().unwrap();
                files.insert(path.clone(), (fs::read(&path).unwrap(), modified));
            }
        }
    }
    files
}

fn all_files(folder: &Path) -> Vec<String> {
    snapshot(folder)
        .keys()
        .map(|path| path.strip_prefix(folder).unwrap().display().to_string())
        .collect()
}

/// Originals untouched; no temp files; identical manifests from identical runs (timing aside).
#[test]
fn runs_leave_originals_untouched_and_are_repeatable() {
    let shoot = tempfile::tempdir().unwrap();
    fs::create_dir_all(shoot.path().join("day2")).unwrap();
    fs::write(
        shoot.path().join("a.jpg"),
        make_jpeg(&test_picture(900, 600)),
    )
    .unwrap();
    fs::write(
        shoot.path().join("day2/a.jpg"),
        make_jpeg(&test_picture(600, 900)),
    )
    .unwrap();
    fs::write(
        shoot.path().join("b.JPEG"),
        make_jpeg(&test_picture(300, 200)),
    )
    .unwrap();
    fs::write(shoot.path().join("c"), make_jpeg(&test_picture(200, 300))).unwrap();
    let mut inputs = vec![shoot.path().to_path_buf()];
    if let Some(corpus) = corpus() {
        inputs.push(corpus.join("exif/Canon_40D.jpg"));
        inputs.push(corpus.join("faces/astronaut.png"));
    }
    let before = snapshot(shoot.path());
    let input_refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();

    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let (code, mut manifest_one) = run_shoot(&input_refs, first.path(), &["--jobs", "2"]);
    assert_eq!(code, 0);
    let (code, mut manifest_two) = run_shoot(&input_refs, second.path(), &["--jobs", "1"]);
    assert_eq!(code, 0);

    assert_eq!(snapshot(shoot.path()), before, "originals changed");
    let files = all_files(first.path());
    assert!(
        files.iter().all(|f| !f.contains("headshot-tmp")),
        "{files:?}"
    );
    // Two photos named a.jpg get distinct outputs.
    assert!(files.contains(&"a_large.jpg".to_string()), "{files:?}");
    assert!(files.contains(&"a_large-2.jpg".to_string()), "{files:?}");
    assert!(files.contains(&"c_thumb.jpg".to_string()), "{files:?}");
    manifest_one["timing"] = serde_json::Value::Null;
    manifest_two["timing"] = serde_json::Value::Null;
    assert_eq!(manifest_one, manifest_two);
    assert_eq!(all_files(first.path()), all_files(second.path()));
}

/// Small sources are never upscaled; large ones get exactly the long edge.
#[test]
fn derivatives_fit_the_long_edge_without_upscaling() {
    let shoot = tempfile::tempdir().unwrap();
    fs::write(
        shoot.path().join("big.jpg"),
        make_jpeg(&test_picture(4200, 2800)),
    )
    .unwrap();
    fs::write(
        shoot.path().join("small.jpg"),
        make_jpeg(&test_picture(350, 500)),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (code, manifest) = run_shoot(&[shoot.path()], out.path(), &[]);
    assert_eq!(code, 0);
    let big = photo(&manifest, "big.jpg");
    assert_eq!(output_of(out.path(), big, "large").1, 2048);
    assert_eq!(output_of(out.path(), big, "large").2, 1365);
    assert_eq!(output_of(out.path(), big, "thumb").1, 400);
    let small = photo(&manifest, "small.jpg");
    let (_, width, height) = output_of(out.path(), small, "large");
    assert_eq!((width, height), (350, 500));
    let (path, width, height) = output_of(out.path(), small, "thumb");
    assert_eq!((width, height), (280, 400));
    assert_eq!(decode_jpeg(&path).dimensions(), (280, 400));
    // The shrunk-on-load big photo still looks like its source.
    let source = small_grey(&test_picture(4200, 2800), 30, 20);
    let (large, _, _) = output_of(out.path(), big, "large");
    assert!(mean_abs_diff(&small_grey(&decode_jpeg(&large), 30, 20), &source) < 3.0);
}

#[test]
fn output_folder_inside_input_is_skipped_and_equal_is_refused() {
    let shoot = tempfile::tempdir().unwrap();
    fs::write(
        shoot.path().join("a.jpg"),
        make_jpeg(&test_picture(300, 200)),
    )
    .unwrap();
    let output = headshot(&[
        "run",
        path_arg(shoot.path()),
        "--out",
        path_arg(shoot.path()),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("output folder"));

    let nested = shoot.path().join("gallery");
    let (code, manifest) = run_shoot(&[shoot.path()], &nested, &[]);
    assert_eq!(code, 0);
    let (code, manifest_again) = run_shoot(&[shoot.path()], &nested, &[]);
    assert_eq!(code, 0);
    assert_eq!(manifest["summary"]["photos"], 1);
    assert_eq!(
        manifest_again["summary"]["photos"], 1,
        "outputs were taken as inputs"
    );
}

#[test]
fn usage_errors_exit_2_before_any_photo() {
    let shoot = tempfile::tempdir().unwrap();
    fs::write(
        shoot.path().join("a.jpg"),
        make_jpeg(&test_picture(300, 200)),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    for args in [
        vec!["--template", "{colour}.jpg"],
        vec!["--export", "nonexistent"],
        vec!["--jobs", "0"],
    ] {
        let mut full = vec!["run", path_arg(shoot.path()), "--out", path_arg(out.path())];
        full.extend(args.iter());
        let output = headshot(&full);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            !out.path().join("manifest.json").exists(),
            "{args:?} processed photos"
        );
    }
}

#[test]
fn inspect_reports_exif_as_text_and_json() {
    let Some(corpus) = corpus() else { return };
    let file = corpus.join("exif/orientation/Portrait_6.jpg");
    let output = headshot(&["inspect", path_arg(&file)]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("1800x1200 stored, 1200x1800 upright"),
        "{text}"
    );
    assert!(text.contains("6 (rotated 90 clockwise)"), "{text}");

    let camera_file = corpus.join("exif/Canon_40D.jpg");
    let output = headshot(&["inspect", "--json", path_arg(&camera_file)]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["camera"], "Canon EOS 40D");
    assert_eq!(json["format"], "jpeg");
    assert!(json["capture_time"].as_str().unwrap().starts_with("2008-"));
    assert!(json["exposure_time"].as_str().unwrap().starts_with("1/"));
    assert!(json["f_number"].as_f64().unwrap() > 1.0);
    assert!(json["iso"].as_u64().unwrap() >= 100);
}

/// Outputs are upright JPEGs whose metadata any reader sees: Orientation 1, credit, no GPS.
#[test]
fn outputs_carry_metadata_that_exiftool_reads() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let gps_photo = corpus.join("exif/DSCN0010.jpg");
    let rotated = corpus.join("exif/orientation/Portrait_6.jpg");
    let (code, manifest) = run_shoot(
        &[&gps_photo, &rotated],
        out.path(),
        &[
            "--credit",
            "Seán O'Brien",
            "--copyright",
            "© 2026 RustConf",
            "--event",
            "RustConf 2026",
        ],
    );
    assert_eq!(code, 0);
    for (file, derivative) in [("DSCN0010.jpg", "large"), ("Portrait_6.jpg", "thumb")] {
        let (path, width, height) = output_of(out.path(), photo(&manifest, file), derivative);
        let output = std::process::Command::new("exiftool")
            .args(["-json", "-n", "-G1", path_arg(&path)])
            .output()
            .unwrap();
        let tags: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let tags = &tags[0];
        assert_eq!(tags["IFD0:Orientation"], 1, "{file}");
        assert_eq!(tags["File:ImageWidth"], width, "{file}");
        assert_eq!(tags["File:ImageHeight"], height, "{file}");
        assert_eq!(tags["XMP-dc:Creator"], "Seán O'Brien", "{file}");
        assert_eq!(tags["IFD0:Artist"], "Seán O'Brien", "{file}");
        assert_eq!(tags["IPTC:CopyrightNotice"], "© 2026 RustConf", "{file}");
        assert!(tags.get("GPS:GPSLatitude").is_none(), "{file} leaks GPS");
    }
    let (path, _, _) = output_of(out.path(), photo(&manifest, "DSCN0010.jpg"), "large");
    let output = std::process::Command::new("exiftool")
        .args(["-json", "-G1", path_arg(&path)])
        .output()
        .unwrap();
    let tags: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(tags[0]["ExifIFD:DateTimeOriginal"], "2008:10:22 16:28:39");
    assert_eq!(tags[0]["IFD0:Model"], "COOLPIX P6000");
}
