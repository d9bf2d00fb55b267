//! Colour: photos with Adobe RGB, Display P3, ProPhoto, XYB and CMYK profiles come out in sRGB,
//! close to ImageMagick's (lcms) conversion and clearly unlike the same pixels read as sRGB; every
//! output says it is sRGB (exiftool's ProfileDescription).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, output_of, photo, run_shoot, tool_available};

/// Long edge of the derivative and of the reference conversion.
const LONG_EDGE: u32 = 320;
/// Size both pictures are brought to before comparing, so resampling differences average out.
const COMPARE_WIDTH: u32 = 48;

/// An export preset with one `LONG_EDGE` derivative at high quality, so the encoder adds little.
fn export_preset(folder: &Path) -> PathBuf {
    let path = folder.join("colour-check.toml");
    std::fs::write(
        &path,
        format!(
            "[[derivative]]\nname = \"check\"\nlong_edge = {LONG_EDGE}\nquality = 95\nchroma = \"4:4:4\"\n"
        ),
    )
    .expect("write preset");
    path
}

/// The photos with a non-sRGB profile: the `icc/` folder and the CMYK (SWOP) JPEG.
fn profiled_photos(corpus: &Path) -> Vec<PathBuf> {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(corpus.join("icc"))
        .expect("icc folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    photos.sort();
    photos.push(corpus.join("exif/odd/exifr_cmyk_swop.jpg"));
    photos
}

/// `image` brought to `COMPARE_WIDTH` x `height`, as RGB floats.
fn small_rgb(image: &image::RgbImage, height: u32) -> Vec<f64> {
    let mut resizer = fast_image_resize::Resizer::new();
    headshot::resize::crop_and_resize(
        &mut resizer,
        image,
        headshot::resize::SourceBox::whole(image),
        COMPARE_WIDTH,
        height,
    )
    .expect("resize")
    .as_raw()
    .iter()
    .map(|&value| value as f64)
    .collect()
}

/// (mean, 95th percentile) over pixels of the largest channel difference, in 0..=255.
fn differences(a: &[f64], b: &[f64]) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let mut per_pixel: Vec<f64> = a
        .chunks(3)
        .zip(b.chunks(3))
        .map(|(x, y)| (0..3).map(|c| (x[c] - y[c]).abs()).fold(0.0, f64::max))
        .collect();
    let mean = per_pixel.iter().sum::<f64>() / per_pixel.len() as f64;
    per_pixel.sort_by(f64::total_cmp);
    (mean, per_pixel[per_pixel.len() * 95 / 100])
}

/// ImageMagick: the source converted to sRGB with its embedded profile (lcms), resized.
fn imagemagick_reference(
    source: &Path,
    srgb_icc: &Path,
    size: (u32, u32),
    folder: &Path,
) -> image::RgbImage {
    let reference = folder.join(format!(
        "{}-reference.png",
        source.file_stem().unwrap().to_string_lossy()
    ));
    let output = Command::new("convert")
        .arg(source)
        .args(["-auto-orient", "-profile"])
        .arg(srgb_icc)
        .args(["-strip", "-resize", &format!("{}x{}!", size.0, size.1)])
        .args(["-depth", "8", "-type", "TrueColor"])
        .arg(&reference)
        .output()
        .expect("convert runs");
    assert!(
        output.status.success(),
        "convert {}: {}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    image::open(&reference).expect("reference PNG").into_rgb8()
}

/// The source's pixels as stored, read as if they were sRGB (what ignoring the profile gives).
fn profile_ignored(source: &Path, size: (u32, u32)) -> image::RgbImage {
    let bytes = std::fs::read(source).expect("source");
    let decoded = headshot::decode::decode(&bytes, headshot::discover::ImageFormat::Jpeg, 1.0, 500)
        .expect("decode");
    let mut resizer = fast_image_resize::Resizer::new();
    headshot::resize::crop_and_resize(
        &mut resizer,
        &decoded.image,
        headshot::resize::SourceBox::whole(&decoded.image),
        size.0,
        size.1,
    )
    .expect("resize")
}

fn imagemagick_has_lcms() -> bool {
    if !tool_available("convert", "-version") {
        return false;
    }
    let version = Command::new("convert")
        .arg("-version")
        .output()
        .expect("convert");
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(
        text.contains("lcms"),
        "ImageMagick without lcms cannot make colour references:\n{text}"
    );
    true
}

#[test]
fn profiled_photos_match_imagemagick_and_differ_from_ignoring_the_profile() {
    let Some(corpus) = corpus() else { return };
    if !imagemagick_has_lcms() {
        return;
    }
    let folder = tempfile::tempdir().expect("tempdir");
    let srgb_icc = folder.path().join("sRGB.icc");
    std::fs::write(&srgb_icc, headshot::colour::srgb_icc()).expect("write sRGB profile");
    let preset = export_preset(folder.path());
    let photos = profiled_photos(&corpus);
    let inputs: Vec<&Path> = photos.iter().map(PathBuf::as_path).collect();
    let out = folder.path().join("out");
    let (code, manifest) = run_shoot(
        &inputs,
        &out,
        &["--export", common::path_arg(&preset), "--crop", "original"],
    );
    assert_eq!(code, 0, "{manifest:#}");

    let mut report = Vec::new();
    for source in &photos {
        let name = source.file_name().unwrap().to_string_lossy();
        let entry = photo(&manifest, &name);
        assert!(
            entry["warnings"].as_array().is_none_or(|w| w.is_empty()),
            "{name}: {}",
            entry["warnings"]
        );
        let (path, width, height) = output_of(&out, entry, "check");
        let ours = common::decode_jpeg(&path);
        let compare_height = (COMPARE_WIDTH * height / width).max(1);
        let reference = imagemagick_reference(source, &srgb_icc, (width, height), folder.path());
        let ignored = profile_ignored(source, (width, height));
        let ours_small = small_rgb(&ours, compare_height);
        let reference_small = small_rgb(&reference, compare_height);
        let ignored_small = small_rgb(&ignored, compare_height);
        let to_reference = differences(&ours_small, &reference_small);
        let to_ignored = differences(&ours_small, &ignored_small);
        let reference_to_ignored = differences(&reference_small, &ignored_small);
        report.push(format!(
            "{name}: (mean, p95) ours-vs-imagemagick {to_reference:.2?}, ours-vs-ignored {to_ignored:.2?}, imagemagick-vs-ignored {reference_to_ignored:.2?}"
        ));
        let (mean, p95) = to_reference;
        assert!(
            mean < 2.5 && p95 <= 4.0,
            "{name}: too far from ImageMagick (mean {mean:.2}, p95 {p95})\n{}",
            report.join("\n")
        );
        // Muted photos move little, so compare the tails: ignoring the profile must be at least
        // twice as far from ours as ImageMagick is, and further on average too.
        assert!(
            to_ignored.1 >= 2.0 * p95.max(1.0) && to_ignored.0 > mean,
            "{name}: ignoring the profile would be as close\n{}",
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
    println!("{}", report.join("\n"));
}

#[test]
fn exiftool_sees_the_srgb_profile_in_every_output() {
    let Some(corpus) = corpus() else { return };
    if !tool_available("exiftool", "-ver") {
        return;
    }
    let folder = tempfile::tempdir().expect("tempdir");
    let inputs = [
        corpus.join("icc/exifr_BonTon_AdobeRGB.jpg"),
        corpus.join("exif/Canon_40D.jpg"),
        corpus.join("exif/Fujifilm_FinePix_E500.jpg"),
    ];
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let out = folder.path().join("out");
    let (code, manifest) = run_shoot(&inputs, &out, &[]);
    assert_eq!(code, 0, "{manifest:#}");
    let mut outputs = 0;
    for entry in manifest["photos"].as_array().expect("photos") {
        for output in entry["outputs"].as_array().expect("outputs") {
            let path = out.join(output["path"].as_str().expect("path"));
            let read = Command::new("exiftool")
                .args([
                    "-s3",
                    "-ProfileDescription",
                    "-ColorSpace",
                    "-ColorSpaceData",
                ])
                .arg(&path)
                .output()
                .expect("exiftool runs");
            let text = String::from_utf8_lossy(&read.stdout);
            let lines: Vec<&str> = text.lines().collect();
            assert!(
                lines.first().is_some_and(|line| line.contains("sRGB")),
                "{}: ProfileDescription {text:?}",
                path.display()
            );
            assert_eq!(
                lines.get(1).copied(),
                Some("sRGB"),
                "{}: {text}",
                path.display()
            );
            assert_eq!(
                lines.get(2).map(|l| l.trim()),
                Some("RGB"),
                "{}: {text}",
                path.display()
            );
            outputs += 1;
        }
    }
    assert_eq!(outputs, 6);
}

#[test]
fn a_broken_profile_is_a_warning_not_a_failure() {
    let Some(corpus) = corpus() else { return };
    let folder = tempfile::tempdir().expect("tempdir");
    // Two APP2 chunks that both claim to be "1 of 1", seven bytes of profile each.
    let source = corpus.join("exif/odd/pillow_icc-after-SOF.jpg");
    let out = folder.path().join("out");
    let (code, manifest) = run_shoot(&[source.as_path()], &out, &[]);
    assert_eq!(code, 0, "{manifest:#}");
    let entry = photo(&manifest, "pillow_icc-after-SOF.jpg");
    assert_eq!(entry["status"], "ok");
    let warnings = entry["warnings"].to_string();
    assert!(
        warnings.contains("ICC profile") && warnings.contains("treated as sRGB"),
        "{warnings}"
    );
}
