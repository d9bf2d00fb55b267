//! Crop stage: plan where to cut each upright photo (aspect, anchor, face framing,
//! straightening) as pure geometry in source pixels, then cut the working image.
//!
//! Planning ([`plan_crop`]) runs once per photo on a small preview and the detected
//! faces; the plan's rectangle goes into the manifest and [`apply_crop`] cuts it
//! from the working image, shared by every derivative.
//!
//! Anchors:
//! - `center`: the crop's centre is the frame's centre.
//! - `thirds`: finds the subject (the most salient window a third of the crop's
//!   size, see `attention`) and puts it on the crop's upper thirds line; across,
//!   a subject in the middle fifth of the photo stays centred, otherwise it goes on
//!   the nearer vertical thirds line. Then shifted to stay inside the photo.
//! - `attention`: a saliency map of the preview (skin tone, saturated colour,
//!   edges) and the crop-sized window holding the most of it, via a summed-area table.
//! - `face`: picks the face (`faces`: largest near-centre, all, or most central),
//!   optionally levels its eyes, then sizes the crop so the face box is
//!   `face_height` of the output and places it so the eye midpoint is centred
//!   across and `eye_line` down. If that runs off the photo, the crop first
//!   shrinks about the eyes (face up to ~11% larger, eye position kept), then
//!   shifts; with `pad` it extends the canvas instead. No face: the `fallback`
//!   anchor, and `needs_review` says so.
//!
//! `zoom` scales the content anchors (`center`, `thirds`, `attention`); the face
//! anchor's scale comes from `face_height`. `straighten` turns every anchor.

mod apply;
mod attention;
mod face_frame;
mod geometry;
mod preset;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::faces::Face;
use attention::SaliencyMap;
use geometry::{aspect_size, Frame};

pub use apply::apply_crop;
pub use face_frame::MAX_LEVEL_DEGREES;
pub use preset::{
    Anchor, Aspect, CropPreset, FaceChoice, FieldError, Pad, MAX_STRAIGHTEN_DEGREES, MAX_ZOOM,
};

/// The built-in crop presets, `(name, TOML text)`, embedded in the binary.
pub const BUILTIN_CROP_PRESETS: &[(&str, &str)] = &[
    ("original", include_str!("../../presets/crop/original.toml")),
    (
        "headshot-4x5",
        include_str!("../../presets/crop/headshot-4x5.toml"),
    ),
    (
        "avatar-1x1",
        include_str!("../../presets/crop/avatar-1x1.toml"),
    ),
    (
        "portrait-2x3",
        include_str!("../../presets/crop/portrait-2x3.toml"),
    ),
];

/// A crop window in whole upright source pixels, in the frame turned by the plan's
/// `rotation_degrees` about the photo's centre (with no rotation: the photo itself).
///
/// `width:height` is exactly the preset's aspect (a whole multiple of the reduced
/// ratio whenever that costs under 2% of the size). `x`/`y` are negative, or the
/// window reaches past the photo, only when the plan pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CropRect {
    pub x: i64,
    pub y: i64,
    pub width: u32,
    pub height: u32,
}

/// Where and how to cut one photo; produced by [`plan_crop`], used by [`apply_crop`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CropPlan {
    /// The window to keep (see [`CropRect`] for its frame).
    pub rect: CropRect,
    /// Turn applied before cutting, in degrees, positive clockwise on screen
    /// (`straighten` plus eye levelling).
    pub rotation_degrees: f64,
    /// Fill colour where `rect` reaches past the photo; `None` = never reaches past.
    pub pad: Option<[u8; 3]>,
    /// Things a photographer may want to know (small photo, framing limited by edges).
    pub warnings: Vec<String>,
    /// Why this photo's crop should be checked by a person (e.g. no face found).
    pub needs_review: Option<String>,
    /// The upright source size the plan was made for (the rotation's centre).
    pub upright_size: (u32, u32),
    /// The anchor that placed the crop: the preset's, or its `fallback`.
    pub anchor_used: Anchor,
}

impl CropPlan {
    /// The window's corners in upright source pixels (top-left, top-right, bottom-right,
    /// bottom-left), turned back when the plan rotates: for drawing and mapping.
    pub fn corners_in_source(&self) -> [(f64, f64); 4] {
        let frame = Frame::new(self.upright_size, self.rotation_degrees);
        let (left, top) = (self.rect.x as f64, self.rect.y as f64);
        let (right, bottom) = (
            left + f64::from(self.rect.width),
            top + f64::from(self.rect.height),
        );
        [(left, top), (right, top), (right, bottom), (left, bottom)]
            .map(|corner| frame.unrotated(corner))
    }

    /// A point in upright source pixels, in the pixels of an output of `output_size` cut by
    /// this plan (e.g. a face's eye in a derivative).
    pub fn source_to_output(&self, point: (f64, f64), output_size: (u32, u32)) -> (f64, f64) {
        let frame = Frame::new(self.upright_size, self.rotation_degrees);
        let (x, y) = frame.rotated(point);
        (
            (x - self.rect.x as f64) * f64::from(output_size.0) / f64::from(self.rect.width.max(1)),
            (y - self.rect.y as f64) * f64::from(output_size.1)
                / f64::from(self.rect.height.max(1)),
        )
    }
}

/// Plans the crop of one photo. Pure geometry in upright source pixels.
///
/// `preview` is a small upright copy of the photo (any size; its scale is
/// `preview.width() / upright_size.0`), read only by `attention` and `thirds`.
/// `faces` are the detector's faces in upright source pixels, read by `face`.
/// The preset should have passed [`CropPreset::validate`]; out-of-range values
/// are clamped rather than trusted.
pub fn plan_crop(
    preset: &CropPreset,
    upright_size: (u32, u32),
    preview: &RgbImage,
    faces: &[Face],
) -> CropPlan {
    plan_crop_for(preset, None, upright_size, preview, faces)
}

/// [`plan_crop`] for one derivative: its warnings (`min_size`) name `derivative`, since
/// derivatives with crops of their own can differ in what is too small.
pub fn plan_crop_for(
    preset: &CropPreset,
    derivative: Option<&str>,
    upright_size: (u32, u32),
    preview: &RgbImage,
    faces: &[Face],
) -> CropPlan {
    let mut plan = CropPlan {
        rect: CropRect {
            x: 0,
            y: 0,
            width: upright_size.0,
            height: upright_size.1,
        },
        rotation_degrees: 0.0,
        pad: None,
        warnings: Vec::new(),
        needs_review: None,
        upright_size,
        anchor_used: preset.anchor,
    };
    if upright_size.0 == 0 || upright_size.1 == 0 {
        plan.warnings
            .push("the photo has no pixels; nothing to crop".to_string());
        return plan;
    }
    let ratio = preset.aspect.ratio_for(upright_size);
    let straighten =
        finite_or(preset.straighten, 0.0).clamp(-MAX_STRAIGHTEN_DEGREES, MAX_STRAIGHTEN_DEGREES);

    let mut framed_by_face = false;
    if preset.anchor == Anchor::Face {
        match face_frame::frame_faces(preset, upright_size, ratio, straighten, faces) {
            Some(framing) => {
                plan.rect = framing.rect;
                plan.rotation_degrees = framing.rotation_degrees;
                plan.pad = preset.pad.colour();
                plan.warnings.extend(framing.warnings);
                framed_by_face = true;
            }
            None => {
                plan.anchor_used = if preset.fallback == Anchor::Face {
                    Anchor::Attention
                } else {
                    preset.fallback
                };
                plan.needs_review = Some(format!(
                    "no face found; framed by the {} anchor instead",
                    plan.anchor_used
                ));
            }
        }
    }
    if !framed_by_face {
        let frame = Frame::new(upright_size, straighten);
        let aspect = f64::from(ratio.0) / f64::from(ratio.1);
        let zoom = finite_or(preset.zoom, 1.0).clamp(1.0, MAX_ZOOM);
        let max_height = frame.max_height(aspect);
        let size = aspect_size(ratio, max_height * aspect / zoom, max_height / zoom);
        let window = (f64::from(size.0), f64::from(size.1));
        let centre = match plan.anchor_used {
            Anchor::Thirds => thirds_centre(&frame, window, preview, &mut plan.warnings),
            Anchor::Attention => attention_centre(&frame, window, preview, &mut plan.warnings),
            Anchor::Center | Anchor::Face => frame.centre(),
        };
        let centre = frame.clamp_centre(centre, window.0, window.1);
        plan.rect = rect_around(centre, size, &frame, true);
        plan.rotation_degrees = straighten;
    }

    if let Some(warning) = min_size_warning(preset, &plan, derivative) {
        plan.warnings.push(warning);
    }
    plan
}

fn min_size_warning(
    preset: &CropPreset,
    plan: &CropPlan,
    derivative: Option<&str>,
) -> Option<String> {
    let long_edge = plan.rect.width.max(plan.rect.height);
    if long_edge >= preset.min_size {
        return None;
    }
    let whose = derivative.map_or_else(String::new, |name| format!(" for the {name:?} derivative"));
    Some(format!(
        "photo too small{whose}: the crop's long edge is {long_edge} px, below min_size {}; \
         derivatives are not upscaled",
        preset.min_size
    ))
}

/// The whole-pixel window of `size` centred as near `centre` as pixels allow;
/// `keep_inside` nudges an unrotated window back inside the photo after rounding.
pub(crate) fn rect_around(
    centre: (f64, f64),
    size: (u32, u32),
    frame: &Frame,
    keep_inside: bool,
) -> CropRect {
    let mut x = (centre.0 - f64::from(size.0) / 2.0).round() as i64;
    let mut y = (centre.1 - f64::from(size.1) / 2.0).round() as i64;
    if keep_inside && !frame.is_rotated() {
        x = x.clamp(0, (frame.width as i64 - i64::from(size.0)).max(0));
        y = y.clamp(0, (frame.height as i64 - i64::from(size.1)).max(0));
    }
    CropRect {
        x,
        y,
        width: size.0,
        height: size.1,
    }
}

fn finite_or(value: f64, default: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        default
    }
}

/// Preview pixels per source pixel, or `None` (with a warning) if there is no preview.
fn preview_scale(frame: &Frame, preview: &RgbImage, warnings: &mut Vec<String>) -> Option<f64> {
    if preview.width() == 0 || preview.height() == 0 {
        warnings.push("no preview to judge the content; the crop is centred".to_string());
        return None;
    }
    Some(f64::from(preview.width()) / frame.width)
}

/// Centre (rotated frame) of the window of `window` size with the most saliency.
///
/// The search runs on the unrotated preview: for the small straightening angles
/// allowed the difference is a pixel or two of the preview.
fn attention_centre(
    frame: &Frame,
    window: (f64, f64),
    preview: &RgbImage,
    warnings: &mut Vec<String>,
) -> (f64, f64) {
    most_salient_point(frame, window, preview, warnings).unwrap_or_else(|| frame.centre())
}

/// The crop centre that puts the subject on the upper thirds line (see module docs).
fn thirds_centre(
    frame: &Frame,
    window: (f64, f64),
    preview: &RgbImage,
    warnings: &mut Vec<String>,
) -> (f64, f64) {
    let subject_window = (window.0 / 3.0, window.1 / 3.0);
    let subject = most_salient_point(frame, subject_window, preview, warnings)
        .unwrap_or_else(|| frame.centre());
    let across = frame.unrotated(subject).0 / frame.width;
    let centre_x = if across < 0.4 {
        subject.0 + window.0 / 6.0
    } else if across > 0.6 {
        subject.0 - window.0 / 6.0
    } else {
        subject.0
    };
    (centre_x, subject.1 + window.1 / 6.0)
}

/// Centre, in the rotated frame, of the most salient window of `window` source px.
fn most_salient_point(
    frame: &Frame,
    window: (f64, f64),
    preview: &RgbImage,
    warnings: &mut Vec<String>,
) -> Option<(f64, f64)> {
    let scale = preview_scale(frame, preview, warnings)?;
    let map = SaliencyMap::new(preview);
    let preview_window =
        |side: f64, limit: usize| ((side * scale).round() as usize).clamp(1, limit);
    let (centre_x, centre_y) = map.best_window_centre(
        preview_window(window.0, map.width()),
        preview_window(window.1, map.height()),
    )?;
    Some(frame.rotated((centre_x / scale, centre_y / scale)))
}

#[cfg(test)]
mod tests;
