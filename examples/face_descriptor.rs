//! Face descriptors on real photos: dump the aligned chips, or time the descriptor.
//!
//! ```text
//! cargo run --release --example face_descriptor -- chips OUT_DIR PHOTO...
//! cargo run --release --example face_descriptor -- bench PHOTO...
//! ```
//! `chips` writes each photo's largest face as the aligned 150x150 PNG the network
//! sees (`tools/face-descriptor/reference.js` computes face-api's descriptors for
//! them) and its descriptor as JSON next to it. `bench` detects faces on a 512 px
//! preview, as the pipeline does, then times alignment + descriptor per face on one
//! thread (the pipeline runs one photo per core).

use std::path::{Path, PathBuf};
use std::time::Instant;

use headshot::discover::ImageFormat;
use headshot::faces::descriptor::{face_chip, FaceDescriber};
use headshot::faces::{Face, FaceDetector};
use image::RgbImage;

/// Long side of the copy the detector sees, as in the pipeline.
const PREVIEW_LONG_SIDE: u32 = 512;
/// Timed repetitions per face.
const ROUNDS: usize = 5;

type Failure = Box<dyn std::error::Error>;

/// WebP, which headshot does not read (one corpus photo is a WebP named `.jpg`).
fn decode_webp(bytes: &[u8]) -> Option<RgbImage> {
    let decoded = webp::Decoder::new(bytes).decode()?;
    let step = if decoded.is_alpha() { 4 } else { 3 };
    let rgb = decoded
        .chunks_exact(step)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    RgbImage::from_raw(decoded.width(), decoded.height(), rgb)
}

fn load_upright(path: &Path) -> Result<RgbImage, Failure> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(format) = ImageFormat::sniff(&bytes) else {
        return decode_webp(&bytes)
            .ok_or_else(|| format!("{}: not an image", path.display()).into());
    };
    let decoded = headshot::decode::decode(&bytes, format, 1.0, 250)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let orientation = headshot::exif_info::read_exif(&bytes).info.orientation;
    Ok(headshot::orient::to_upright(decoded.image, orientation))
}

/// Faces found on a 512 px copy, in `upright`'s pixels, largest first.
fn detect(detector: &FaceDetector, upright: &RgbImage) -> Result<Vec<Face>, Failure> {
    let (width, height) =
        headshot::resize::fit_long_edge(upright.width(), upright.height(), PREVIEW_LONG_SIDE);
    let preview = image::imageops::resize(
        upright,
        width,
        height,
        image::imageops::FilterType::Triangle,
    );
    let factor = upright.width() as f32 / preview.width() as f32;
    Ok(detector
        .detect(&preview)?
        .iter()
        .map(|face| face.scaled(factor))
        .collect())
}

fn chips(out_dir: &Path, photos: &[PathBuf]) -> Result<(), Failure> {
    let detector = FaceDetector::new()?;
    let describer = FaceDescriber::new()?;
    std::fs::create_dir_all(out_dir)?;
    let mut descriptors = serde_json::Map::new();
    for path in photos {
        let upright = load_upright(path)?;
        let Some(face) = detect(&detector, &upright)?.into_iter().next() else {
            eprintln!("{}: no face", path.display());
            continue;
        };
        let chip = face_chip(&upright, &face)?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("face");
        let name = format!("{stem}.png");
        chip.save(out_dir.join(&name))?;
        let descriptor = describer.describe_chip(&chip)?;
        descriptors.insert(name, serde_json::to_value(&descriptor)?);
    }
    let json = serde_json::to_string_pretty(&serde_json::json!({ "descriptors": descriptors }))?;
    std::fs::write(out_dir.join("port.json"), json)?;
    Ok(())
}

fn bench(photos: &[PathBuf]) -> Result<(), Failure> {
    let started = Instant::now();
    let describer = FaceDescriber::new()?;
    println!(
        "model load: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let detector = FaceDetector::new()?;
    let (mut align_seconds, mut describe_seconds, mut faces) = (0.0, 0.0, 0usize);
    for path in photos {
        let upright = load_upright(path)?;
        for face in detect(&detector, &upright)? {
            for _ in 0..ROUNDS {
                let started = Instant::now();
                let chip = face_chip(&upright, &face)?;
                let aligned = Instant::now();
                describer.describe_chip(&chip)?;
                align_seconds += (aligned - started).as_secs_f64();
                describe_seconds += aligned.elapsed().as_secs_f64();
            }
            faces += 1;
        }
    }
    let runs = (faces * ROUNDS).max(1) as f64;
    println!(
        "{faces} faces in {} photos, {ROUNDS} rounds each: align {:.2} ms + descriptor {:.2} ms = {:.2} ms per face",
        photos.len(),
        align_seconds * 1000.0 / runs,
        describe_seconds * 1000.0 / runs,
        (align_seconds + describe_seconds) * 1000.0 / runs
    );
    Ok(())
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths = |from: usize| args[from..].iter().map(PathBuf::from).collect::<Vec<_>>();
    match args.first().map(String::as_str) {
        Some("chips") if args.len() >= 3 => chips(Path::new(&args[1]), &paths(2)),
        Some("bench") if args.len() >= 2 => bench(&paths(1)),
        _ => Err("usage: face_descriptor chips OUT_DIR PHOTO... | bench PHOTO...".into()),
    }
}
