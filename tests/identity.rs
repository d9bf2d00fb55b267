//! Face identity over `../shared/corpus/identity/` (31 photos of 7 people): the
//! shipped threshold separates same-person from different-person pairs, and
//! clustering groups each person's photos without mixing two people.
//!
//! Each photo's largest face is detected on a 512 px copy (as the pipeline does)
//! and described from the full-size upright photo.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use headshot::discover::ImageFormat;
use headshot::faces::cluster::cluster;
use headshot::faces::descriptor::{FaceDescriber, FaceDescriptor, SAME_PERSON_MAX_DISTANCE};
use headshot::faces::{Face, FaceDetector};
use image::imageops::FilterType;
use image::RgbImage;

/// Long side of the copy the detector sees, as in the pipeline.
const PREVIEW_LONG_SIDE: u32 = 512;

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

fn load_upright(path: &Path) -> RgbImage {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Some(format) = ImageFormat::sniff(&bytes) else {
        return decode_webp(&bytes).unwrap_or_else(|| panic!("{}: unreadable", path.display()));
    };
    let decoded = headshot::decode::decode(&bytes, format, 1.0, 250)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let orientation = headshot::exif_info::read_exif(&bytes).info.orientation;
    headshot::orient::to_upright(decoded.image, orientation)
}

/// The photo's largest face, detected on a small copy, in `upright`'s pixels.
fn largest_face(detector: &FaceDetector, upright: &RgbImage, path: &Path) -> Face {
    let (width, height) =
        headshot::resize::fit_long_edge(upright.width(), upright.height(), PREVIEW_LONG_SIDE);
    let preview = image::imageops::resize(upright, width, height, FilterType::Triangle);
    let faces = detector.detect(&preview).expect("detection runs");
    let largest = faces
        .first()
        .unwrap_or_else(|| panic!("{}: no face found", path.display()));
    largest.scaled(upright.width() as f32 / preview.width() as f32)
}

/// The descriptor of the photo's largest face.
fn describe(detector: &FaceDetector, describer: &FaceDescriber, path: &Path) -> FaceDescriptor {
    let upright = load_upright(path);
    let face = largest_face(detector, &upright, path);
    describer
        .describe(&upright, &face)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).expect("corpus CSV opens");
    reader
        .records()
        .map(|record| record.expect("CSV row").iter().map(str::to_owned).collect())
        .collect()
}

fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

#[test]
fn threshold_separates_people_and_clusters_group_them() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let folder = corpus.join("identity");
    let people: BTreeMap<String, String> = read_csv(&folder.join("identities.csv"))
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    let detector = FaceDetector::new().expect("detector loads");
    let describer = FaceDescriber::new().expect("describer loads");
    let files: Vec<&String> = people.keys().collect();
    let descriptors: BTreeMap<&String, FaceDescriptor> = files
        .iter()
        .map(|file| (*file, describe(&detector, &describer, &folder.join(file))))
        .collect();

    let (mut same, mut different) = (Vec::new(), Vec::new());
    for row in read_csv(&folder.join("pairs.csv")) {
        let distance = descriptors[&row[0]].distance(&descriptors[&row[1]]);
        match row[2].as_str() {
            "yes" => same.push((distance, row[0].clone(), row[1].clone())),
            _ => different.push((distance, row[0].clone(), row[1].clone())),
        }
    }
    assert_eq!(
        (same.len(), different.len()),
        (72, 393),
        "pairs.csv changed"
    );
    same.sort_by(|a, b| a.0.total_cmp(&b.0));
    different.sort_by(|a, b| a.0.total_cmp(&b.0));
    let same_distances: Vec<f32> = same.iter().map(|pair| pair.0).collect();
    let different_distances: Vec<f32> = different.iter().map(|pair| pair.0).collect();
    eprintln!(
        "same person: median {:.3}, max {:.3} ({} / {}); different: median {:.3}, min {:.3} ({} / {})",
        median(&mut same_distances.clone()),
        same.last().map_or(0.0, |p| p.0),
        same.last().map_or("", |p| &p.1),
        same.last().map_or("", |p| &p.2),
        median(&mut different_distances.clone()),
        different.first().map_or(0.0, |p| p.0),
        different.first().map_or("", |p| &p.1),
        different.first().map_or("", |p| &p.2),
    );
    let threshold = SAME_PERSON_MAX_DISTANCE;
    let same_matched = same_distances.iter().filter(|&&d| d <= threshold).count();
    let different_matched = different_distances
        .iter()
        .filter(|&&d| d <= threshold)
        .count();
    eprintln!(
        "at {threshold}: {same_matched}/{} same-person pairs match, {different_matched}/{} different-person pairs match",
        same.len(),
        different.len()
    );
    assert!(same_matched as f32 >= 0.95 * same.len() as f32);
    assert!(different_matched as f32 <= 0.01 * different.len() as f32);

    let ordered: Vec<FaceDescriptor> = files.iter().map(|f| descriptors[f].clone()).collect();
    let groups = cluster(&ordered, threshold);
    let mut people_per_group: BTreeMap<usize, BTreeSet<&String>> = BTreeMap::new();
    let mut groups_per_person: BTreeMap<&String, BTreeSet<usize>> = BTreeMap::new();
    for (file, group) in files.iter().zip(&groups) {
        people_per_group
            .entry(*group)
            .or_default()
            .insert(&people[*file]);
        groups_per_person
            .entry(&people[*file])
            .or_default()
            .insert(*group);
    }
    eprintln!("groups: {people_per_group:?}");
    for (group, members) in &people_per_group {
        assert_eq!(members.len(), 1, "group {group} mixes {members:?}");
    }
    for (person, person_groups) in &groups_per_person {
        assert_eq!(
            person_groups.len(),
            1,
            "{person} is split over groups {person_groups:?}"
        );
    }
}

/// How small a face can be and still be told apart: every photo shrunk so that its
/// face's eyes are N pixels apart, then the same pair statistics. Prints a table;
/// run with `cargo test --test identity -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, prints a table"]
fn separation_by_face_size() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let folder = corpus.join("identity");
    let people: BTreeMap<String, String> = read_csv(&folder.join("identities.csv"))
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    let detector = FaceDetector::new().expect("detector loads");
    let describer = FaceDescriber::new().expect("describer loads");
    let photos: Vec<(RgbImage, Face)> = people
        .keys()
        .map(|file| {
            let path = folder.join(file);
            let upright = load_upright(&path);
            let face = largest_face(&detector, &upright, &path);
            (upright, face)
        })
        .collect();
    let pairs = read_csv(&folder.join("pairs.csv"));
    let index: BTreeMap<&String, usize> = people.keys().enumerate().map(|(i, f)| (f, i)).collect();
    for eye_distance in [12.0f32, 16.0, 20.0, 24.0, 32.0, 48.0, 0.0] {
        let descriptors: Vec<FaceDescriptor> = photos
            .iter()
            .map(|(upright, face)| {
                let [[left_x, left_y], [right_x, right_y]] = face.eyes;
                let actual = ((right_x - left_x).powi(2) + (right_y - left_y).powi(2)).sqrt();
                let factor = if eye_distance > 0.0 {
                    eye_distance / actual
                } else {
                    1.0
                };
                if factor >= 1.0 {
                    return describer.describe(upright, face).expect("describes");
                }
                let width = ((upright.width() as f32 * factor).round() as u32).max(1);
                let height = ((upright.height() as f32 * factor).round() as u32).max(1);
                let small = image::imageops::resize(upright, width, height, FilterType::Triangle);
                let scaled = face.scaled(width as f32 / upright.width() as f32);
                describer.describe(&small, &scaled).expect("describes")
            })
            .collect();
        let (mut same_max, mut different_min) = (0.0f32, f32::INFINITY);
        let (mut same_missed, mut different_matched) = (0, 0);
        for row in &pairs {
            let distance = descriptors[index[&row[0]]].distance(&descriptors[index[&row[1]]]);
            if row[2] == "yes" {
                same_max = same_max.max(distance);
                same_missed += usize::from(distance > SAME_PERSON_MAX_DISTANCE);
            } else {
                different_min = different_min.min(distance);
                different_matched += usize::from(distance <= SAME_PERSON_MAX_DISTANCE);
            }
        }
        let label = if eye_distance > 0.0 {
            format!("{eye_distance} px")
        } else {
            "full size".to_owned()
        };
        eprintln!(
            "eyes {label:>9}: same max {same_max:.3}, {same_missed}/72 missed; different min {different_min:.3}, {different_matched}/393 matched"
        );
    }
}
