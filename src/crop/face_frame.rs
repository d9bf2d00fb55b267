//! Face framing for the `face` anchor: choose the face(s), level the eyes if asked,
//! and size and place the crop so the eyes sit at `eye_line` and the face fills
//! `face_height` of the output, as the image (or padding) allows.

use super::geometry::{aspect_size, Frame};
use super::preset::{CropPreset, FaceChoice, MAX_STRAIGHTEN_DEGREES};
use super::{rect_around, CropRect};
use crate::faces::Face;

/// Eye tilts beyond this are left alone: a strongly tilted head is a pose, not a
/// camera error, and levelling it would cost much of the frame.
pub const MAX_LEVEL_DEGREES: f64 = 10.0;
/// Tilts below this are not worth a resampling pass.
const MIN_LEVEL_DEGREES: f64 = 0.1;
/// When the ideal crop runs off the photo, the crop may shrink about the eyes down
/// to this fraction of the ideal height (the face grows ~11%) before it shifts
/// instead: eye height stays consistent across a shoot, head size nearly so.
const MIN_SHRINK: f64 = 0.9;
/// `faces = "all"`: room kept around every face box, as a fraction of its height,
/// so hair and chins are not cut.
const ALL_FACES_MARGIN: f64 = 0.3;
/// With padding, the crop never grows past this multiple of the photo's long edge,
/// so a huge `face` on a small `face_height` cannot allocate a giant canvas.
const MAX_PADDED_GROWTH: f64 = 3.0;
/// Reported when framing had to depart from the preset by more than this.
const EYE_LINE_TOLERANCE: f64 = 0.03;
const FACE_HEIGHT_TOLERANCE: f64 = 0.15;

/// The crop chosen for one photo's face(s).
#[derive(Debug)]
pub(crate) struct FaceFraming {
    pub rect: CropRect,
    pub rotation_degrees: f64,
    pub warnings: Vec<String>,
}

/// A face as seen in the rotated frame.
struct FramedFace {
    eye_midpoint: (f64, f64),
    centre: (f64, f64),
    width: f64,
    height: f64,
}

/// Frames `faces` for `preset`; `None` when there is no usable face.
pub(crate) fn frame_faces(
    preset: &CropPreset,
    upright_size: (u32, u32),
    ratio: (u32, u32),
    straighten_degrees: f64,
    faces: &[Face],
) -> Option<FaceFraming> {
    let chosen = choose_faces(faces, preset.faces, upright_size);
    if chosen.is_empty() {
        return None;
    }
    let mut warnings = Vec::new();
    let mut rotation_degrees = straighten_degrees;
    if preset.level_eyes {
        let tilt = chosen
            .iter()
            .map(|face| eye_tilt_degrees(face))
            .sum::<f64>()
            / chosen.len() as f64;
        if tilt.abs() > MAX_LEVEL_DEGREES {
            warnings.push(format!(
                "level_eyes: eyes tilt {tilt:.1} degrees, more than {MAX_LEVEL_DEGREES}; left as shot"
            ));
        } else if tilt.abs() >= MIN_LEVEL_DEGREES {
            rotation_degrees -= tilt;
        }
    }
    rotation_degrees = rotation_degrees.clamp(
        -(MAX_STRAIGHTEN_DEGREES + MAX_LEVEL_DEGREES),
        MAX_STRAIGHTEN_DEGREES + MAX_LEVEL_DEGREES,
    );
    let frame = Frame::new(upright_size, rotation_degrees);
    let framed: Vec<FramedFace> = chosen.iter().map(|face| frame_face(&frame, face)).collect();

    let aspect = f64::from(ratio.0) / f64::from(ratio.1);
    let eye_line = preset.eye_line.clamp(0.05, 0.95);
    let face_height = preset.face_height.clamp(0.02, 1.0);
    let (anchor, reference_face_height) = match preset.faces {
        FaceChoice::All => {
            let left = framed
                .iter()
                .map(|face| face.centre.0 - face.width / 2.0)
                .fold(f64::MAX, f64::min);
            let right = framed
                .iter()
                .map(|face| face.centre.0 + face.width / 2.0)
                .fold(f64::MIN, f64::max);
            let eye_height =
                framed.iter().map(|face| face.eye_midpoint.1).sum::<f64>() / framed.len() as f64;
            let tallest = framed.iter().map(|face| face.height).fold(0.0, f64::max);
            (((left + right) / 2.0, eye_height), tallest)
        }
        FaceChoice::Largest | FaceChoice::Center => (framed[0].eye_midpoint, framed[0].height),
    };
    // Heights of the crop: the ideal from face_height, the least that still contains
    // every face (for `all`), and the least we accept before shifting instead.
    let ideal_height = reference_face_height / face_height;
    let containing_height = match preset.faces {
        FaceChoice::All => height_containing(&framed, anchor, aspect, eye_line),
        FaceChoice::Largest | FaceChoice::Center => 0.0,
    };
    let mut target_height = ideal_height.max(containing_height);
    let mut least_height = (ideal_height * MIN_SHRINK).max(containing_height);
    // The crop's corners relative to the anchor (eye point), per unit of crop height.
    let corner_offsets = [
        (-aspect / 2.0, -eye_line),
        (aspect / 2.0, -eye_line),
        (-aspect / 2.0, 1.0 - eye_line),
        (aspect / 2.0, 1.0 - eye_line),
    ];

    let padded = preset.pad.colour().is_some();
    let height = if padded {
        let cap = MAX_PADDED_GROWTH * frame.width.max(frame.height);
        if target_height > cap {
            warnings.push(format!(
                "face framing: the padded crop would be {target_height:.0} px high; limited to {cap:.0} px"
            ));
        }
        target_height.min(cap)
    } else {
        target_height = target_height.min(frame.max_height(aspect));
        least_height = least_height.min(target_height);
        let anchored_height = frame.max_scale_about(anchor, &corner_offsets);
        if anchored_height >= least_height {
            target_height.min(anchored_height)
        } else {
            least_height
        }
    };
    let size = aspect_size(ratio, height * aspect, height);
    let centre = (anchor.0, anchor.1 + (0.5 - eye_line) * f64::from(size.1));
    let centre = if padded {
        centre
    } else {
        frame.clamp_centre(centre, f64::from(size.0), f64::from(size.1))
    };
    let rect = rect_around(centre, size, &frame, !padded);

    report_departures(
        &mut warnings,
        rect,
        anchor,
        reference_face_height,
        preset,
        &framed,
    );
    Some(FaceFraming {
        rect,
        rotation_degrees,
        warnings,
    })
}

/// The faces to frame, best first; invalid boxes (empty, NaN) are ignored.
///
/// `largest` takes the faces at least 3/4 the height of the tallest and, among
/// them, the one nearest the centre: a bystander's slightly bigger face at the
/// edge should not win over the sitter in the middle.
fn choose_faces(faces: &[Face], choice: FaceChoice, upright_size: (u32, u32)) -> Vec<&Face> {
    let usable: Vec<&Face> = faces
        .iter()
        .filter(|face| {
            let [_, _, width, height] = face.bbox;
            face.bbox.iter().all(|value| value.is_finite())
                && face.eyes.iter().flatten().all(|value| value.is_finite())
                && width > 0.0
                && height > 0.0
        })
        .collect();
    let (centre_x, centre_y) = (
        f64::from(upright_size.0) / 2.0,
        f64::from(upright_size.1) / 2.0,
    );
    let distance_to_centre = |face: &&Face| {
        let [x, y, width, height] = face.bbox.map(f64::from);
        (x + width / 2.0 - centre_x).powi(2) + (y + height / 2.0 - centre_y).powi(2)
    };
    let candidates = match choice {
        FaceChoice::All => return usable,
        FaceChoice::Center => usable,
        FaceChoice::Largest => {
            let tallest = usable
                .iter()
                .map(|face| face.bbox[3])
                .fold(0.0f32, f32::max);
            usable
                .into_iter()
                .filter(|face| face.bbox[3] >= 0.75 * tallest)
                .collect()
        }
    };
    candidates
        .into_iter()
        .min_by(|a, b| distance_to_centre(a).total_cmp(&distance_to_centre(b)))
        .into_iter()
        .collect()
}

/// Angle of the eye line in degrees, positive when the right-hand eye is lower.
fn eye_tilt_degrees(face: &Face) -> f64 {
    let [[left_x, left_y], [right_x, right_y]] = face.eyes.map(|eye| eye.map(f64::from));
    let (dx, dy) = (right_x - left_x, right_y - left_y);
    if dx.hypot(dy) < 1.0 {
        return 0.0;
    }
    dy.atan2(dx).to_degrees()
}

fn frame_face(frame: &Frame, face: &Face) -> FramedFace {
    let [x, y, width, height] = face.bbox.map(f64::from);
    let [[left_x, left_y], [right_x, right_y]] = face.eyes.map(|eye| eye.map(f64::from));
    FramedFace {
        eye_midpoint: frame.rotated(((left_x + right_x) / 2.0, (left_y + right_y) / 2.0)),
        centre: frame.rotated((x + width / 2.0, y + height / 2.0)),
        width,
        height,
    }
}

/// Least crop height (eye point at `anchor`, at `eye_line`, centred) that holds every face with margin.
fn height_containing(faces: &[FramedFace], anchor: (f64, f64), aspect: f64, eye_line: f64) -> f64 {
    faces
        .iter()
        .map(|face| {
            let margin = ALL_FACES_MARGIN * face.height;
            let left = face.centre.0 - face.width / 2.0 - margin;
            let right = face.centre.0 + face.width / 2.0 + margin;
            let top = face.centre.1 - face.height / 2.0 - margin;
            let bottom = face.centre.1 + face.height / 2.0 + margin;
            [
                2.0 * (anchor.0 - left) / aspect,
                2.0 * (right - anchor.0) / aspect,
                (anchor.1 - top) / eye_line,
                (bottom - anchor.1) / (1.0 - eye_line),
            ]
            .into_iter()
            .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

/// Warns when the photo's edges forced the framing away from the preset, so a
/// photographer can find those frames in the manifest.
fn report_departures(
    warnings: &mut Vec<String>,
    rect: CropRect,
    anchor: (f64, f64),
    reference_face_height: f64,
    preset: &CropPreset,
    faces: &[FramedFace],
) {
    let (width, height) = (f64::from(rect.width), f64::from(rect.height));
    let eye_line = (anchor.1 - rect.y as f64) / height;
    let eye_across = (anchor.0 - rect.x as f64) / width;
    let face_height = reference_face_height / height;
    let face_height_off = match preset.faces {
        // With several faces the crop grows to hold them all; only the eye line matters.
        FaceChoice::All => false,
        FaceChoice::Largest | FaceChoice::Center => {
            (face_height / preset.face_height - 1.0).abs() > FACE_HEIGHT_TOLERANCE
        }
    };
    if (eye_line - preset.eye_line).abs() > EYE_LINE_TOLERANCE
        || (eye_across - 0.5).abs() > EYE_LINE_TOLERANCE
        || face_height_off
    {
        warnings.push(format!(
            "face framing limited by the photo's edges: eyes at {eye_line:.2} of the height and \
             {eye_across:.2} of the width, face {face_height:.2} of the height \
             (preset: eye_line {}, face_height {})",
            preset.eye_line, preset.face_height
        ));
    }
    let outside = faces
        .iter()
        .filter(|face| {
            face.centre.0 - face.width / 2.0 < rect.x as f64 - 0.5
                || face.centre.0 + face.width / 2.0 > rect.x as f64 + width + 0.5
                || face.centre.1 - face.height / 2.0 < rect.y as f64 - 0.5
                || face.centre.1 + face.height / 2.0 > rect.y as f64 + height + 0.5
        })
        .count();
    if outside > 0 {
        warnings.push(format!(
            "{outside} of {} framed faces do not fit inside the crop",
            faces.len()
        ));
    }
}
