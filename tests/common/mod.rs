//! Helpers shared by the integration tests: the corpus, external tools, running the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/corpus`, or `None` (with a plain SKIPPED line) when this clone has no corpus.
/// With `HEADSHOT_REQUIRE_CORPUS=1` (set by `.ci/run`) a missing corpus fails the test instead.
pub fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("MANIFEST.md").is_file() {
        return Some(dir);
    }
    if std::env::var("HEADSHOT_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("../shared/corpus is missing and HEADSHOT_REQUIRE_CORPUS=1");
    }
    eprintln!("SKIPPED: ../shared/corpus not found (tests that need real photos did not run)");
    None
}

/// Whether an external tool runs; missing fails under `HEADSHOT_REQUIRE_TOOLS=1`, else SKIPPED.
pub fn tool_available(program: &str, version_arg: &str) -> bool {
    let works = Command::new(program)
        .arg(version_arg)
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if works {
        return true;
    }
    if std::env::var("HEADSHOT_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{program} is not installed and HEADSHOT_REQUIRE_TOOLS=1");
    }
    eprintln!("SKIPPED: {program} not installed (install it to run this test)");
    false
}

/// Runs the `headshot` binary with `args`.
pub fn headshot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headshot"))
        .args(args)
        .output()
        .expect("the headshot binary runs")
}

pub fn path_arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// Runs `headshot run INPUTS --out OUT --quiet`, returning (exit code, manifest).
pub fn run_shoot(inputs: &[&Path], out: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["run"];
    args.extend(inputs.iter().map(|p| path_arg(p)));
    args.extend(["--out", path_arg(out), "--quiet"]);
    args.extend(extra);
    let output = headshot(&args);
    let code = output.status.code().unwrap_or(-1);
    let manifest_text = std::fs::read_to_string(out.join("manifest.json")).unwrap_or_else(|_| {
        panic!(
            "no manifest.json; exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (
        code,
        serde_json::from_str(&manifest_text).expect("manifest.json is JSON"),
    )
}

/// The manifest entry whose source file name is `file_name`.
pub fn photo<'a>(manifest: &'a serde_json::Value, file_name: &str) -> &'a serde_json::Value {
    manifest["photos"]
        .as_array()
        .expect("photos array")
        .iter()
        .find(|photo| {
            Path::new(photo["source"].as_str().unwrap_or_default())
                .file_name()
                .map(|name| name == file_name)
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("{file_name} not in manifest"))
}

/// The output of `derivative` for a manifest photo entry: (path, width, height).
pub fn output_of(out: &Path, photo: &serde_json::Value, derivative: &str) -> (PathBuf, u32, u32) {
    let output = photo["outputs"]
        .as_array()
        .expect("outputs array")
        .iter()
        .find(|output| output["derivative"] == derivative)
        .unwrap_or_else(|| panic!("no {derivative} output for {}", photo["source"]));
    (
        out.join(output["path"].as_str().expect("path")),
        output["width"].as_u64().expect("width") as u32,
        output["height"].as_u64().expect("height") as u32,
    )
}

/// Decodes a JPEG written by headshot.
pub fn decode_jpeg(path: &Path) -> image::RgbImage {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    headshot::decode::decode(&bytes, headshot::discover::ImageFormat::Jpeg, 1.0, 500)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .image
}

/// A small grey version (for comparing pictures across sizes and encoders).
pub fn small_grey(image: &image::RgbImage, width: u32, height: u32) -> Vec<f64> {
    let mut resizer = fast_image_resize::Resizer::new();
    let small = headshot::resize::crop_and_resize(
        &mut resizer,
        image,
        headshot::resize::SourceBox::whole(image),
        width,
        height,
    )
    .expect("resize");
    small
        .pixels()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect()
}

/// Mean absolute difference of two equal-length grey vectors, in 0..=255.
pub fn mean_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

/// Encodes a test image as JPEG with headshot's encoder.
pub fn make_jpeg(image: &image::RgbImage) -> Vec<u8> {
    headshot::encode::encode_jpeg(
        image,
        &headshot::encode::EncodeSettings {
            format: headshot::encode::OutputFormat::Jpeg,
            quality: 90,
            chroma: headshot::encode::Chroma::Quarter,
            progressive: false,
            effort: headshot::encode::Effort::Fast,
        },
        &[],
    )
    .expect("encode")
}

/// A test picture with structure in both directions (gradients and a bright square).
pub fn test_picture(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        let in_square = x > width / 5 && x < width / 2 && y > height / 6 && y < height / 2;
        if in_square {
            image::Rgb([250, 240, 40])
        } else {
            image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 90])
        }
    })
}

/// Sets EXIF tags with exiftool (`-Tag=value` arguments) on `paths` in place; panics with
/// exiftool's message when it fails. Check `tool_available("exiftool", "-ver")` first.
pub fn exiftool_set(paths: &[&Path], tags: &[&str]) {
    let output = Command::new("exiftool")
        .args(["-q", "-overwrite_original", "-r"])
        .args(tags)
        .args(paths)
        .output()
        .expect("exiftool runs");
    assert!(
        output.status.success(),
        "exiftool {tags:?} {paths:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A slate frame: the attendee's printed card held up in front of a real portrait, saved as a
/// JPEG whose EXIF capture time (`YYYY:MM:DD HH:MM:SS`) places it in the sequence.
pub fn slate_jpeg(corpus: &Path, card: image::GrayImage, capture_time: &str) -> Vec<u8> {
    let bytes = std::fs::read(corpus.join("faces/rose_leslie_img2.jpg")).unwrap();
    let decoded = headshot::decode::decode(
        &bytes,
        headshot::discover::ImageFormat::Jpeg,
        1.0,
        headshot::decode::DEFAULT_MAX_MEGAPIXELS,
    )
    .unwrap();
    let mut frame = decoded.image;
    let width = frame.width() * 45 / 100;
    let height = card.height() * width / card.width();
    let card = image::imageops::resize(&card, width, height, image::imageops::FilterType::Triangle);
    let card = image::DynamicImage::ImageLuma8(card).to_rgb8();
    let (left, top) = (
        i64::from(frame.width() / 4),
        i64::from((frame.height() - height) / 2),
    );
    image::imageops::replace(&mut frame, &card, left, top);
    let mut metadata = headshot::metadata::OutputMetadata::new(frame.width(), frame.height());
    metadata.capture_time =
        Some(headshot::metadata::CaptureTime::from_exif(capture_time, None, None).unwrap());
    let segments = headshot::metadata::jpeg_segments(
        &metadata,
        None,
        headshot::metadata::MetadataPolicy::Privacy,
    )
    .unwrap();
    let settings = headshot::encode::EncodeSettings {
        format: headshot::encode::OutputFormat::Jpeg,
        quality: 85,
        chroma: headshot::encode::Chroma::Quarter,
        progressive: false,
        effort: headshot::encode::Effort::Fast,
    };
    headshot::encode::encode_jpeg(&frame, &settings, &segments).unwrap()
}
