//! The run's record: `manifest.json`, one entry per input photo, versioned for uploaders and scripts.

use serde::Serialize;

use crate::discover::ImageFormat;
use crate::error::Stage;
use crate::names::{AssignedBy, Person, Review, Role};

/// Bumped whenever a field changes meaning or goes away (adding fields does not bump it).
pub const MANIFEST_VERSION: u32 = 1;

/// What became of one input photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
}

/// Exposure settings as recorded by the camera.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exposure {
    pub exposure_time: Option<String>,
    pub f_number: Option<f64>,
    pub iso: Option<u32>,
    pub focal_length: Option<f64>,
}

/// One file written for a photo.
#[derive(Debug, Clone, Serialize)]
pub struct OutputRecord {
    pub derivative: String,
    /// Relative to the output folder, with `/` separators.
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// The crop this output was cut from.
    pub crop: CropRecord,
}

/// A crop rectangle in upright source pixels (with the rotation applied before cutting).
#[derive(Debug, Clone, Serialize)]
pub struct CropRecord {
    pub x: i64,
    pub y: i64,
    pub width: u32,
    pub height: u32,
    pub rotation_degrees: f64,
    /// The anchor that placed it (the preset's, or its fallback).
    pub anchor: String,
}

impl CropRecord {
    pub fn from_plan(plan: &crate::crop::CropPlan) -> Self {
        Self {
            x: plan.rect.x,
            y: plan.rect.y,
            width: plan.rect.width,
            height: plan.rect.height,
            rotation_degrees: plan.rotation_degrees,
            anchor: plan.anchor_used.to_string(),
        }
    }
}

/// One input photo's manifest entry.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoRecord {
    /// The path as given on the command line (or joined under a given folder).
    pub source: String,
    pub status: Status,
    pub error: Option<String>,
    pub error_stage: Option<Stage>,
    pub warnings: Vec<String>,
    pub format: Option<ImageFormat>,
    /// Upright pixel size of the source (after orientation).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub orientation: u8,
    pub capture_time: Option<String>,
    pub camera: Option<String>,
    pub lens: Option<String>,
    pub exposure: Exposure,
    /// The presets this photo was processed with (a derivative may override the crop: see its `crop`).
    pub presets: PresetsUsed,
    /// The shoot crop's rectangle in upright source pixels (the first derivative's crop).
    pub crop: Option<CropRecord>,
    /// Why a person should look at this photo (e.g. no face found for a face crop).
    pub needs_review: Option<String>,
    /// `portrait` (gets derivatives) or `slate` (a QR card naming the frames after it).
    pub role: Role,
    /// Who is in the photo, with the sheet's extra columns; `null` when unnamed.
    pub person: Option<Person>,
    /// Which rule named the photo: the sheet layout and line, or the slate.
    pub assigned_by: Option<AssignedBy>,
    /// 1-based number of this photo among the same person's photos.
    pub person_seq: Option<usize>,
    /// Faces found, in upright source pixels (empty when detection did not run or found none).
    pub faces: Vec<FaceRecord>,
    /// Exposure change (EV) the tone preset's `face_exposure` gave this photo.
    pub face_exposure_ev: Option<f32>,
    pub outputs: Vec<OutputRecord>,
}

/// One detected face, in upright source pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceRecord {
    /// `[x, y, width, height]`.
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    pub score: f64,
    /// `[[x, y], [x, y]]`: the eye on the image's left, then the one on its right.
    pub eyes: [[f64; 2]; 2],
}

impl FaceRecord {
    /// Rounded to a tenth of a pixel: detector noise below that means nothing.
    pub fn from_face(face: &crate::faces::Face) -> Self {
        let round = |value: f32| (f64::from(value) * 10.0).round() / 10.0;
        let [x, y, width, height] = face.bbox;
        let [[left_x, left_y], [right_x, right_y]] = face.eyes;
        FaceRecord {
            bbox: [round(x), round(y), round(width), round(height)],
            score: (f64::from(face.score) * 1000.0).round() / 1000.0,
            eyes: [
                [round(left_x), round(left_y)],
                [round(right_x), round(right_y)],
            ],
        }
    }
}

/// Totals for the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub photos: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    pub outputs_written: usize,
    /// Photos whose `needs_review` is set.
    pub needs_review: usize,
    /// Files passed over in input folders (raw files, non-images), with the reason.
    pub ignored_files: Vec<IgnoredFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IgnoredFile {
    pub path: String,
    pub reason: String,
}

/// Wall-clock figures: the only part of the manifest that differs between identical runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    pub wall_seconds: f64,
    pub photos_per_second: f64,
    pub jobs: usize,
    /// Seconds spent in each stage, summed over all workers (so they add up to about
    /// `wall_seconds × jobs`): where a run's time goes.
    pub stage_seconds: StageSeconds,
}

/// Per-stage worker time; see [`Timing::stage_seconds`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageSeconds {
    /// Reading the file, EXIF and decoding (with shrink-on-load) and orienting.
    pub decode: f64,
    /// The small preview, face detection and crop planning.
    pub analyse: f64,
    /// Tone tables over the working image.
    pub tone: f64,
    /// Crop, resize and sharpen, every derivative.
    pub resize: f64,
    /// Metadata and encoding, every derivative.
    pub encode: f64,
    /// Writing and renaming output files.
    pub write: f64,
}

/// The settings that shaped the outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub crop: String,
    pub tone: String,
    pub export: String,
    pub template: String,
    pub derivatives: Vec<String>,
}

/// Preset names used for a photo.
#[derive(Debug, Clone, Serialize)]
pub struct PresetsUsed {
    pub crop: String,
    pub tone: String,
    pub export: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub schema: &'static str,
    pub version: u32,
    pub generator: String,
    pub settings: Settings,
    pub summary: Summary,
    pub timing: Timing,
    /// Naming problems to look at (unnamed photos, names without photos...); `null` without names.
    pub review: Option<Review>,
    pub photos: Vec<PhotoRecord>,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        // Serialising plain owned data cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}
