//! Behaviour tests for crop planning and applying: presets, aspect exactness,
//! anchors, face framing and the corpus check on a real portrait.

use super::*;
use image::{imageops, Rgb};
use std::path::PathBuf;

const GREY: Rgb<u8> = Rgb([120, 120, 120]);
const SKIN: Rgb<u8> = Rgb([224, 172, 140]);

fn preset(text: &str) -> CropPreset {
    let preset: CropPreset = toml::from_str(text).unwrap_or_else(|error| panic!("{text}: {error}"));
    preset
        .validate()
        .unwrap_or_else(|errors| panic!("{text}: {errors:?}"));
    preset
}

fn builtin(name: &str) -> CropPreset {
    let (_, text) = BUILTIN_CROP_PRESETS
        .iter()
        .find(|(builtin_name, _)| *builtin_name == name)
        .unwrap_or_else(|| panic!("no built-in {name}"));
    preset(text)
}

/// A face whose box is `height` tall (4:5 box) with its eyes at `eyes_at`, level.
fn face_at(eyes_at: (f32, f32), height: f32) -> Face {
    let width = height * 0.8;
    let eye_gap = width * 0.4;
    Face {
        bbox: [
            eyes_at.0 - width / 2.0,
            eyes_at.1 - height * 0.4,
            width,
            height,
        ],
        score: 0.9,
        eyes: [
            [eyes_at.0 - eye_gap / 2.0, eyes_at.1],
            [eyes_at.0 + eye_gap / 2.0, eyes_at.1],
        ],
    }
}

fn no_preview() -> RgbImage {
    RgbImage::new(0, 0)
}

/// Grey image with a filled skin-toned disc, as a preview of `scale` preview px per px.
fn blob_image(size: (u32, u32), centre: (f64, f64), radius: f64) -> RgbImage {
    RgbImage::from_fn(size.0, size.1, |x, y| {
        let (dx, dy) = (f64::from(x) + 0.5 - centre.0, f64::from(y) + 0.5 - centre.1);
        if dx.hypot(dy) <= radius {
            SKIN
        } else {
            GREY
        }
    })
}

/// The short side is within 1 px of what the long side and `ratio` make it.
fn assert_aspect(width: u32, height: u32, ratio: (u32, u32), context: &str) {
    let (width_f, height_f) = (f64::from(width), f64::from(height));
    let (ratio_width, ratio_height) = (f64::from(ratio.0), f64::from(ratio.1));
    let error = if width >= height {
        (height_f - width_f * ratio_height / ratio_width).abs()
    } else {
        (width_f - height_f * ratio_width / ratio_height).abs()
    };
    assert!(
        error <= 1.0,
        "{context}: {width}x{height} is not {}:{}",
        ratio.0,
        ratio.1
    );
}

fn assert_inside(rect: CropRect, size: (u32, u32), context: &str) {
    assert!(
        rect.x >= 0
            && rect.y >= 0
            && rect.x + i64::from(rect.width) <= i64::from(size.0)
            && rect.y + i64::from(rect.height) <= i64::from(size.1),
        "{context}: {rect:?} not inside {size:?}"
    );
}

/// Fraction of the crop's height at which the face's eye midpoint lands, and the face's share of the height.
fn framing_of(plan: &CropPlan, face: &Face) -> (f64, f64, f64) {
    let eye_y = f64::from(face.eyes[0][1] + face.eyes[1][1]) / 2.0;
    let eye_x = f64::from(face.eyes[0][0] + face.eyes[1][0]) / 2.0;
    let rect = plan.rect;
    (
        (eye_y - rect.y as f64) / f64::from(rect.height),
        (eye_x - rect.x as f64) / f64::from(rect.width),
        f64::from(face.bbox[3]) / f64::from(rect.height),
    )
}

#[test]
fn builtins_parse_validate_and_describe() {
    let names: Vec<&str> = BUILTIN_CROP_PRESETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        ["original", "headshot-4x5", "avatar-1x1", "portrait-2x3"]
    );
    for name in names {
        let preset = builtin(name);
        assert!(
            preset
                .description
                .as_deref()
                .is_some_and(|text| !text.is_empty()),
            "{name}"
        );
    }
    assert_eq!(builtin("headshot-4x5").anchor, Anchor::Face);
    assert_eq!(builtin("headshot-4x5").fallback, Anchor::Attention);
    assert_eq!(builtin("avatar-1x1").anchor, Anchor::Face);
    assert!(builtin("avatar-1x1").face_height > builtin("headshot-4x5").face_height);
    let plan = plan_crop(&builtin("original"), (5184, 3456), &no_preview(), &[]);
    assert_eq!(
        plan.rect,
        CropRect {
            x: 0,
            y: 0,
            width: 5184,
            height: 3456
        }
    );
    assert!(plan.warnings.is_empty() && plan.needs_review.is_none());
}

#[test]
fn every_crop_and_derivative_keeps_the_aspect() {
    let sizes = [
        (5184, 3456),
        (3456, 5184),
        (1391, 2463),
        (4032, 2012),
        (100, 68),
        (59, 100),
        (8, 8),
        (3, 2),
        (1, 1),
    ];
    let aspects = ["4:5", "1:1", "3:2", "2:3", "16:9", "original", "7:3"];
    let setups = [
        ("center", 0.0),
        ("thirds", 0.0),
        ("attention", 0.0),
        ("center", 3.5),
    ];
    for (width, height) in sizes {
        let long_edge = f64::from(width.max(height));
        // Working images as a decoder shrinking on load would give: full size for
        // small photos, about 300 and 40 px long edges for big ones.
        let working_images: Vec<(f64, RgbImage)> = [1.0, 300.0 / long_edge, 40.0 / long_edge]
            .into_iter()
            .filter(|scale| *scale <= 1.0 && (long_edge <= 300.0 || *scale < 1.0))
            .map(|scale| {
                let working_width = ((f64::from(width) * scale).round() as u32).max(1);
                let working_height = ((f64::from(height) * scale).round() as u32).max(1);
                let working = RgbImage::from_fn(working_width, working_height, |x, y| {
                    Rgb([(x % 256) as u8, (y % 256) as u8, 90])
                });
                (scale, working)
            })
            .collect();
        let preview = RgbImage::from_pixel(width.min(48), height.min(48), GREY);
        for aspect in aspects {
            for zoom in [1.0, 1.3, 2.7, 8.0] {
                for (anchor, straighten) in setups {
                    let text = format!(
                        "aspect = \"{aspect}\"\nzoom = {zoom}\nanchor = \"{anchor}\"\nstraighten = {straighten}"
                    );
                    let preset = preset(&text);
                    let plan = plan_crop(&preset, (width, height), &preview, &[]);
                    let context = format!("{width}x{height} {text:?}");
                    let ratio = preset.aspect.ratio_for((width, height));
                    assert_aspect(plan.rect.width, plan.rect.height, ratio, &context);
                    if straighten == 0.0 {
                        assert_inside(plan.rect, (width, height), &context);
                    }
                    for (scale, working) in &working_images {
                        let cropped = apply_crop(working, &plan, *scale);
                        let context = format!("{context} scale {scale}");
                        assert_aspect(cropped.width(), cropped.height(), ratio, &context);
                        // Derivatives by long edge, as the resize stage rounds them.
                        let cropped_long_edge = cropped.width().max(cropped.height());
                        for derivative_long_edge in [2048, 1024, 400, 64] {
                            let long = derivative_long_edge.min(cropped_long_edge);
                            let short = |short_side: u32| {
                                ((f64::from(long) * f64::from(short_side)
                                    / f64::from(cropped_long_edge))
                                .round() as u32)
                                    .max(1)
                            };
                            let (derivative_width, derivative_height) =
                                if cropped.width() >= cropped.height() {
                                    (long, short(cropped.height()))
                                } else {
                                    (short(cropped.width()), long)
                                };
                            assert_aspect(derivative_width, derivative_height, ratio, &context);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn small_photo_warns_and_is_never_upscaled() {
    let headshot = builtin("headshot-4x5");
    let plan = plan_crop(
        &headshot,
        (300, 400),
        &no_preview(),
        &[face_at((150.0, 150.0), 100.0)],
    );
    let warning = plan
        .warnings
        .iter()
        .find(|warning| warning.contains("min_size"));
    assert!(
        warning.is_some_and(|text| text.contains("1200")),
        "{:?}",
        plan.warnings
    );
    // For one derivative, the warning says which.
    let named = plan_crop_for(
        &headshot,
        Some("large"),
        (300, 400),
        &no_preview(),
        &[face_at((150.0, 150.0), 100.0)],
    );
    assert!(
        named.warnings.iter().any(|warning| warning
            .starts_with("photo too small for the \"large\" derivative: the crop's long edge")),
        "{:?}",
        named.warnings
    );
    let image = RgbImage::from_pixel(300, 400, GREY);
    for scale in [1.0, 0.5] {
        let working = imageops::thumbnail(&image, (300.0 * scale) as u32, (400.0 * scale) as u32);
        let cropped = apply_crop(&working, &plan, scale);
        assert!(cropped.width() <= working.width() && cropped.height() <= working.height());
        assert!(f64::from(cropped.height()) <= f64::from(plan.rect.height) * scale + 1.0);
    }
    let big = plan_crop(
        &headshot,
        (3000, 4000),
        &no_preview(),
        &[face_at((1500.0, 1400.0), 500.0)],
    );
    assert!(
        big.warnings
            .iter()
            .all(|warning| !warning.contains("min_size")),
        "{:?}",
        big.warnings
    );
}

#[test]
fn center_and_thirds_positions() {
    let centred = plan_crop(
        &preset("aspect = \"1:1\"\nzoom = 2.0"),
        (1000, 600),
        &no_preview(),
        &[],
    );
    assert_eq!(
        centred.rect,
        CropRect {
            x: 350,
            y: 150,
            width: 300,
            height: 300
        }
    );

    // Subject in the middle, high up: centred across, on the upper thirds line.
    let thirds = preset("aspect = \"1:1\"\nzoom = 2.0\nanchor = \"thirds\"");
    let preview = blob_image((150, 150), (75.0, 50.0), 12.0);
    let plan = plan_crop(&thirds, (600, 600), &preview, &[]);
    let rect = plan.rect;
    assert_eq!((rect.width, rect.height), (300, 300));
    assert!((rect.x - 150).abs() <= 12, "{rect:?}");
    assert!(
        (rect.y - 100).abs() <= 12,
        "subject at y 200 should be a third down: {rect:?}"
    );

    // Subject on the left: on the left thirds line.
    let preview = blob_image((150, 150), (45.0, 75.0), 12.0);
    let rect = plan_crop(&thirds, (600, 600), &preview, &[]).rect;
    let subject_across = (180.0 - rect.x as f64) / f64::from(rect.width);
    let subject_down = (300.0 - rect.y as f64) / f64::from(rect.height);
    assert!((subject_across - 1.0 / 3.0).abs() < 0.05, "{rect:?}");
    assert!((subject_down - 1.0 / 3.0).abs() < 0.05, "{rect:?}");
}

#[test]
fn attention_finds_an_off_centre_subject() {
    // 800x500 photo, skin-toned blob at (620, 150); preview at a quarter scale.
    let preview = blob_image((200, 125), (155.0, 37.5), 15.0);
    let full_height = plan_crop(
        &preset("aspect = \"4:5\"\nanchor = \"attention\""),
        (800, 500),
        &preview,
        &[],
    );
    // Any window from x 280 to 400 holds the whole blob; the one centred on it wins.
    assert_eq!(
        full_height.rect,
        CropRect {
            x: 400,
            y: 0,
            width: 400,
            height: 500
        }
    );

    let zoomed = plan_crop(
        &preset("aspect = \"1:1\"\nzoom = 2.5\nanchor = \"attention\""),
        (800, 500),
        &preview,
        &[],
    );
    let rect = zoomed.rect;
    let centre = (
        rect.x as f64 + f64::from(rect.width) / 2.0,
        rect.y as f64 + f64::from(rect.height) / 2.0,
    );
    assert!(
        (centre.0 - 620.0).abs() <= 8.0 && (centre.1 - 150.0).abs() <= 8.0,
        "{rect:?}"
    );

    // Nothing salient: the middle.
    let flat = RgbImage::from_pixel(200, 125, GREY);
    let rect = plan_crop(
        &preset("aspect = \"1:1\"\nzoom = 2.5\nanchor = \"attention\""),
        (800, 500),
        &flat,
        &[],
    )
    .rect;
    assert_eq!(
        rect,
        CropRect {
            x: 300,
            y: 150,
            width: 200,
            height: 200
        }
    );
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("HEADSHOT_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("../shared/corpus not found and HEADSHOT_REQUIRE_CORPUS=1");
    }
    println!("SKIPPED: ../shared/corpus not found");
    None
}

#[test]
fn attention_keeps_the_astronauts_face() {
    let Some(corpus) = corpus_dir() else { return };
    let path = corpus.join("faces/astronaut.png");
    let photo = image::open(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .to_rgb8();
    assert_eq!(photo.dimensions(), (512, 512));
    let preview = imageops::thumbnail(&photo, 256, 256);
    // The face (by eye, hair to chin) spans roughly x 170..310, y 50..210.
    for text in [
        "aspect = \"1:1\"\nzoom = 1.8\nanchor = \"attention\"",
        "aspect = \"4:5\"\nzoom = 1.6\nanchor = \"attention\"",
        "aspect = \"16:9\"\nzoom = 1.0\nanchor = \"attention\"",
    ] {
        let plan = plan_crop(&preset(text), (512, 512), &preview, &[]);
        let rect = plan.rect;
        let right = rect.x + i64::from(rect.width);
        let bottom = rect.y + i64::from(rect.height);
        assert!(
            rect.x <= 180 && right >= 300 && rect.y <= 60 && bottom >= 200,
            "{text:?}: {rect:?} misses the face"
        );
    }
}

#[test]
fn face_framing_hits_eye_line_and_face_height() {
    let headshot = builtin("headshot-4x5");
    let avatar = builtin("avatar-1x1");
    let portrait = builtin("portrait-2x3");
    for (size, eyes, face_height) in [
        ((3000, 4000), (1500.0, 1400.0), 500.0),
        ((3000, 4000), (1100.0, 1800.0), 350.0),
        ((6000, 4000), (2500.0, 1500.0), 600.0),
        ((4000, 6000), (2200.0, 2000.0), 800.0),
        ((1200, 900), (640.0, 420.0), 120.0),
    ] {
        let face = face_at(eyes, face_height);
        for preset in [&headshot, &avatar, &portrait] {
            let plan = plan_crop(preset, size, &no_preview(), std::slice::from_ref(&face));
            let context = format!("{size:?} {eyes:?} {}", preset.aspect);
            let (eye_line, eye_across, face_share) = framing_of(&plan, &face);
            assert!(
                (eye_line - preset.eye_line).abs() <= 0.03,
                "{context}: eye line {eye_line}"
            );
            assert!(
                (eye_across - 0.5).abs() <= 0.03,
                "{context}: eyes across {eye_across}"
            );
            assert!(
                (face_share / preset.face_height - 1.0).abs() <= 0.15,
                "{context}: face {face_share}"
            );
            assert_inside(plan.rect, size, &context);
            assert!(plan.needs_review.is_none(), "{context}");
            assert!(
                plan.warnings.iter().all(|w| !w.contains("limited")),
                "{context}: {:?}",
                plan.warnings
            );
        }
    }
}

#[test]
fn face_framing_clamps_when_the_photo_is_too_small() {
    let headshot = builtin("headshot-4x5");
    // Eyes near the top: the eye line cannot be kept; the crop starts at the top edge.
    let face = face_at((1500.0, 200.0), 400.0);
    let plan = plan_crop(
        &headshot,
        (3000, 4000),
        &no_preview(),
        std::slice::from_ref(&face),
    );
    assert_inside(plan.rect, (3000, 4000), "eyes near top");
    assert_eq!(plan.rect.y, 0);
    assert_aspect(plan.rect.width, plan.rect.height, (4, 5), "eyes near top");
    let (eye_line, eye_across, face_share) = framing_of(&plan, &face);
    assert!(eye_line < headshot.eye_line && (eye_across - 0.5).abs() < 0.03);
    assert!(
        face_share <= headshot.face_height / 0.9 + 0.01,
        "shrinks at most 10%: {face_share}"
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("limited by the photo's edges")),
        "{:?}",
        plan.warnings
    );

    // Slightly off the ideal: shrinking about the eyes keeps the eye line exactly.
    let face = face_at((1500.0, 520.0), 400.0);
    let plan = plan_crop(
        &headshot,
        (3000, 4000),
        &no_preview(),
        std::slice::from_ref(&face),
    );
    let (eye_line, _, face_share) = framing_of(&plan, &face);
    assert!((eye_line - headshot.eye_line).abs() < 0.005, "{eye_line}");
    assert!(face_share > headshot.face_height && face_share / headshot.face_height < 1.12);

    // Face too big for the ideal crop: the largest 4:5 crop there is.
    let face = face_at((1500.0, 1800.0), 2000.0);
    let plan = plan_crop(
        &headshot,
        (3000, 4000),
        &no_preview(),
        std::slice::from_ref(&face),
    );
    assert_eq!((plan.rect.width, plan.rect.height), (3000, 3750));
    assert_inside(plan.rect, (3000, 4000), "face too big");

    // Near the left edge: shifted, never outside.
    let face = face_at((150.0, 1500.0), 400.0);
    let plan = plan_crop(
        &headshot,
        (3000, 4000),
        &no_preview(),
        std::slice::from_ref(&face),
    );
    assert_eq!(plan.rect.x, 0);
    assert_inside(plan.rect, (3000, 4000), "left edge");
}

#[test]
fn padding_extends_the_canvas_instead() {
    let padded = preset(
        "aspect = \"4:5\"\nanchor = \"face\"\neye_line = 0.36\nface_height = 0.3\npad = \"#ff0000\"",
    );
    let face = face_at((300.0, 100.0), 100.0);
    let plan = plan_crop(
        &padded,
        (600, 800),
        &no_preview(),
        std::slice::from_ref(&face),
    );
    assert!(plan.rect.y < 0, "{:?}", plan.rect);
    assert_eq!(plan.pad, Some([255, 0, 0]));
    let (eye_line, eye_across, face_share) = framing_of(&plan, &face);
    assert!((eye_line - 0.36).abs() <= 0.03 && (eye_across - 0.5).abs() <= 0.03);
    assert!((face_share / 0.3 - 1.0).abs() <= 0.15, "{face_share}");
    let cropped = apply_crop(&RgbImage::from_pixel(600, 800, GREY), &plan, 1.0);
    assert_eq!(cropped.get_pixel(cropped.width() / 2, 0), &Rgb([255, 0, 0]));
    assert_eq!(
        cropped.get_pixel(cropped.width() / 2, cropped.height() - 1),
        &GREY
    );
}

#[test]
fn several_faces() {
    let left = face_at((700.0, 1000.0), 260.0);
    let right = face_at((2300.0, 1100.0), 360.0);
    let middle_small = face_at((1500.0, 1000.0), 330.0);
    let faces = [left.clone(), right.clone(), middle_small.clone()];
    let size = (3000, 2000);

    let all = preset("aspect = \"3:2\"\nanchor = \"face\"\nfaces = \"all\"");
    let plan = plan_crop(&all, size, &no_preview(), &faces);
    for face in &faces {
        let [x, y, width, height] = face.bbox.map(f64::from);
        let rect = plan.rect;
        assert!(
            x >= rect.x as f64
                && y >= rect.y as f64
                && x + width <= (rect.x + i64::from(rect.width)) as f64
                && y + height <= (rect.y + i64::from(rect.height)) as f64,
            "{face:?} outside {rect:?}"
        );
    }
    assert_inside(plan.rect, size, "all faces");

    // `largest`: the right face is tallest, but the middle one is nearly as tall and central.
    let largest = preset("aspect = \"4:5\"\nanchor = \"face\"");
    let (_, eye_across, _) = framing_of(
        &plan_crop(&largest, size, &no_preview(), &faces),
        &middle_small,
    );
    assert!((eye_across - 0.5).abs() < 0.03);
    // A much smaller central face loses to the largest one (the left one is under 3/4 of it).
    let tiny_middle = face_at((1500.0, 1000.0), 120.0);
    let plan = plan_crop(
        &largest,
        size,
        &no_preview(),
        &[left.clone(), right.clone(), tiny_middle.clone()],
    );
    let (_, eye_across, _) = framing_of(&plan, &right);
    assert!((eye_across - 0.5).abs() < 0.03, "{:?}", plan.rect);
    // `center`: the most central face whatever its size.
    let center = preset("aspect = \"4:5\"\nanchor = \"face\"\nfaces = \"center\"");
    let plan = plan_crop(
        &center,
        size,
        &no_preview(),
        &[left, right, tiny_middle.clone()],
    );
    let (_, eye_across, _) = framing_of(&plan, &tiny_middle);
    assert!((eye_across - 0.5).abs() < 0.03, "{:?}", plan.rect);
}

#[test]
fn no_face_falls_back_and_asks_for_review() {
    let preview = blob_image((200, 125), (155.0, 37.5), 15.0);
    let plan = plan_crop(&builtin("headshot-4x5"), (800, 500), &preview, &[]);
    assert_eq!(plan.anchor_used, Anchor::Attention);
    assert!(plan
        .needs_review
        .as_deref()
        .is_some_and(|reason| reason.contains("no face")));
    assert_eq!(
        plan.rect,
        CropRect {
            x: 400,
            y: 0,
            width: 400,
            height: 500
        }
    );
    let portrait = plan_crop(&builtin("portrait-2x3"), (800, 500), &preview, &[]);
    assert_eq!(portrait.anchor_used, Anchor::Thirds);
    assert!(portrait.needs_review.is_some());
}

/// Draws two dark eye dots on grey, returns the image.
fn eyes_image(size: (u32, u32), eyes: [[f32; 2]; 2]) -> RgbImage {
    RgbImage::from_fn(size.0, size.1, |x, y| {
        let near = eyes
            .iter()
            .any(|[eye_x, eye_y]| (x as f32 + 0.5 - eye_x).hypot(y as f32 + 0.5 - eye_y) <= 6.0);
        if near {
            Rgb([0, 0, 0])
        } else {
            Rgb([200, 200, 200])
        }
    })
}

/// Centroid of the dark pixels in the left and right halves of `image`.
fn dark_centroids(image: &RgbImage) -> [(f64, f64); 2] {
    let mut sums = [(0.0, 0.0, 0.0); 2];
    for (x, y, pixel) in image.enumerate_pixels() {
        if pixel.0[0] < 100 {
            let side = usize::from(x >= image.width() / 2);
            sums[side].0 += f64::from(x);
            sums[side].1 += f64::from(y);
            sums[side].2 += 1.0;
        }
    }
    sums.map(|(x, y, count)| (x / count, y / count))
}

#[test]
fn level_eyes_rotates_small_tilts_only() {
    let size = (800, 1000);
    let mut face = face_at((400.0, 400.0), 200.0);
    face.eyes = [[340.0, 390.0], [460.0, 410.0]]; // right-hand eye lower: tilt +9.46 degrees
    let level =
        preset("aspect = \"4:5\"\nanchor = \"face\"\nlevel_eyes = true\nface_height = 0.35");
    let plan = plan_crop(&level, size, &no_preview(), std::slice::from_ref(&face));
    let tilt = (20.0f64).atan2(120.0).to_degrees();
    assert!(
        (plan.rotation_degrees + tilt).abs() < 1e-6,
        "{}",
        plan.rotation_degrees
    );
    for scale in [1.0, 0.5] {
        let working = imageops::thumbnail(
            &eyes_image(size, face.eyes),
            (800.0 * scale) as u32,
            (1000.0 * scale) as u32,
        );
        let cropped = apply_crop(&working, &plan, scale);
        let [left_eye, right_eye] = dark_centroids(&cropped);
        assert!(
            (left_eye.1 - right_eye.1).abs() < 1.0,
            "scale {scale}: {left_eye:?} {right_eye:?}"
        );
        // No empty corners: the background is light everywhere at the edges.
        for (x, y) in [(0, 0), (cropped.width() - 1, 0), (0, cropped.height() - 1)] {
            assert!(cropped.get_pixel(x, y).0[0] > 150, "corner {x},{y}");
        }
        let eye_line = (left_eye.1 + right_eye.1) / 2.0 / f64::from(cropped.height());
        assert!((eye_line - 0.36).abs() < 0.03, "{eye_line}");
    }

    face.eyes = [[340.0, 380.0], [460.0, 410.0]]; // 14 degrees: a pose, left alone
    let plan = plan_crop(&level, size, &no_preview(), std::slice::from_ref(&face));
    assert_eq!(plan.rotation_degrees, 0.0);
    assert!(
        plan.warnings.iter().any(|w| w.starts_with("level_eyes")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn straighten_leaves_no_empty_corners() {
    let image = RgbImage::from_pixel(640, 480, Rgb([250, 250, 250]));
    for straighten in [-15.0, 4.0] {
        let text = format!("aspect = \"3:2\"\nstraighten = {straighten}");
        let plan = plan_crop(&preset(&text), (640, 480), &no_preview(), &[]);
        assert_eq!(plan.rotation_degrees, straighten);
        let cropped = apply_crop(&image, &plan, 1.0);
        assert!(
            cropped.pixels().all(|pixel| pixel.0 == [250, 250, 250]),
            "{straighten}"
        );
    }
}

#[test]
fn fast_path_is_a_plain_copy() {
    let image = RgbImage::from_fn(400, 300, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let plan = plan_crop(
        &preset("aspect = \"1:1\"\nzoom = 1.5"),
        (400, 300),
        &no_preview(),
        &[],
    );
    let cropped = apply_crop(&image, &plan, 1.0);
    let rect = plan.rect;
    let expected = imageops::crop_imm(
        &image,
        rect.x as u32,
        rect.y as u32,
        rect.width,
        rect.height,
    )
    .to_image();
    assert_eq!(cropped, expected);
}
