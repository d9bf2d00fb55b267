//! Presets end to end: every built-in runs, crops keep their aspect, mistakes stop the run.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn sample_images() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/samples"))
}

/// Every built-in crop and tone preset parses and runs on every sample image.
#[test]
fn every_builtin_preset_runs_on_every_sample_image() {
    let listing = headshot(&["presets", "list"]);
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let photos = fs::read_dir(sample_images())
        .unwrap()
        .filter(|entry| {
            let name = entry.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            !name.ends_with(".md") && !name.ends_with(".py")
        })
        .count();
    let mut runs = 0;
    for line in listing.lines() {
        let mut words = line.split_whitespace();
        let (Some(kind), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let flag = match kind {
            "crop" => "--crop",
            "tone" => "--tone",
            "export" => "--export",
            _ => continue,
        };
        let out = tempfile::tempdir().unwrap();
        let (code, manifest) = run_shoot(&[sample_images()], out.path(), &[flag, name]);
        assert_eq!(code, 0, "{kind} {name}: {manifest:#}");
        assert_eq!(manifest["summary"]["ok"], photos, "{kind} {name}");
        runs += 1;
    }
    assert!(
        runs >= 11,
        "expected every built-in to be listed:\n{listing}"
    );
}

/// A 4:5 crop gives exactly 4:5 in every derivative, whatever the orientation tag.
#[test]
fn crop_aspect_is_exact_in_every_derivative_and_orientation() {
    let Some(corpus) = corpus() else { return };
    let out = tempfile::tempdir().unwrap();
    let folder = corpus.join("exif/orientation");
    let (code, manifest) = run_shoot(
        &[&folder],
        out.path(),
        &["--crop", "headshot-4x5", "--export", "gallery"],
    );
    assert_eq!(code, 0);
    for photo in manifest["photos"].as_array().unwrap() {
        assert_eq!(photo["presets"]["crop"], "headshot-4x5");
        assert_eq!(photo["presets"]["export"], "gallery");
        let crop = &photo["crop"];
        let (width, height) = (
            crop["width"].as_f64().unwrap(),
            crop["height"].as_f64().unwrap(),
        );
        // Exact 4:5 multiples where that costs under 2% of the size, else within a pixel.
        assert!(
            (width - height * 0.8).abs() <= 1.0,
            "{}: crop {width}x{height}",
            photo["source"]
        );
        for output in photo["outputs"].as_array().unwrap() {
            let (w, h) = (
                output["width"].as_f64().unwrap(),
                output["height"].as_f64().unwrap(),
            );
            let expected = if output["derivative"] == "avatar" {
                1.0
            } else {
                0.8
            };
            // Rounding may move one side by at most a pixel.
            assert!(
                (w - h * expected).abs() <= 1.0,
                "{} {}: {w}x{h}",
                photo["source"],
                output["derivative"]
            );
            let image = decode_jpeg(&out.path().join(output["path"].as_str().unwrap()));
            assert_eq!(image.dimensions(), (w as u32, h as u32));
        }
    }
}

/// bw-classic comes out without colour; neutral changes nothing.
#[test]
fn tone_presets_take_effect_in_the_outputs() {
    let Some(corpus) = corpus() else { return };
    let photo_path = corpus.join("faces/obama.jpg");
    let neutral = tempfile::tempdir().unwrap();
    let bw = tempfile::tempdir().unwrap();
    let (code, neutral_manifest) =
        run_shoot(&[&photo_path], neutral.path(), &["--tone", "neutral"]);
    assert_eq!(code, 0);
    let (code, bw_manifest) = run_shoot(&[&photo_path], bw.path(), &["--tone", "bw-classic"]);
    assert_eq!(code, 0);
    let (bw_path, _, _) = output_of(bw.path(), photo(&bw_manifest, "obama.jpg"), "large");
    let bw_image = decode_jpeg(&bw_path);
    let chroma: f64 = bw_image
        .pixels()
        .map(|p| {
            (p[0] as f64 - p[1] as f64)
                .abs()
                .max((p[1] as f64 - p[2] as f64).abs())
        })
        .sum::<f64>()
        / (bw_image.width() * bw_image.height()) as f64;
    assert!(chroma < 1.5, "bw-classic mean chroma {chroma}");
    let (neutral_path, _, _) = output_of(
        neutral.path(),
        photo(&neutral_manifest, "obama.jpg"),
        "large",
    );
    let source = headshot::decode::decode(
        &fs::read(&photo_path).unwrap(),
        headshot::discover::ImageFormat::Jpeg,
        1.0,
        500,
    )
    .unwrap()
    .image;
    let difference = mean_abs_diff(
        &small_grey(&decode_jpeg(&neutral_path), 64, 80),
        &small_grey(&source, 64, 80),
    );
    assert!(
        difference < 1.5,
        "neutral changed the picture by {difference}"
    );
}

/// A malformed shoot file or preset stops the run with exit 2 before any photo is processed.
#[test]
fn malformed_presets_and_shoot_files_stop_the_run() {
    let shoot = tempfile::tempdir().unwrap();
    fs::write(
        shoot.path().join("a.jpg"),
        make_jpeg(&test_picture(300, 200)),
    )
    .unwrap();
    let cases: [(&str, &str, &str); 4] = [
        (
            "headshot.toml",
            "event = \"X\"\ncolour = 1\n",
            "headshot.toml:2",
        ),
        ("headshot.toml", "tone = \"loud.toml\"\n", "loud.toml"),
        ("loud.toml", "exposure = 12\n", "exposure = 12"),
        (
            "headshot.toml",
            "crop = \"nonexistent\"\n",
            "unknown crop preset",
        ),
    ];
    for (file, text, expected) in cases {
        fs::write(shoot.path().join(file), text).unwrap();
        let out = tempfile::tempdir().unwrap();
        let output = headshot(&["run", path_arg(shoot.path()), "--out", path_arg(out.path())]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if file == "loud.toml" {
            assert!(
                stderr.contains("loud.toml:1") && stderr.contains(expected),
                "{stderr}"
            );
        } else {
            assert!(stderr.contains(expected), "{file}: {stderr}");
        }
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(!out.path().join("manifest.json").exists());
    }
}

#[test]
fn presets_show_works_out_the_kind_of_a_preset_file() {
    let folder = tempfile::tempdir().unwrap();
    let export = folder.path().join("upload.toml");
    fs::write(
        &export,
        "[[derivative]]\nname = \"upload\"\nlong_edge = 3000\nmax_bytes = 1000000\n",
    )
    .unwrap();
    let shown = headshot(&["presets", "show", path_arg(&export)]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(text.starts_with("# export preset"), "{text}");
    assert!(text.contains("max_bytes = 1000000"), "{text}");

    let broken = folder.path().join("broken.toml");
    fs::write(&broken, "exposure = \"bright\"\n").unwrap();
    let refused = headshot(&["presets", "show", path_arg(&broken)]);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{message}");
    assert!(
        message.contains("as a tone preset") && message.contains("exposure"),
        "{message}"
    );
}
