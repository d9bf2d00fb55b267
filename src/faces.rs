//! Face detection on the upright image (BlazeFace), shared by every derivative.
//!
//! [`FaceDetector`] runs Google MediaPipe's BlazeFace networks (vendored in
//! `models/`, embedded in the binary) with tract, on a small upright copy of a
//! photo. Build one detector per run and share it across threads; call
//! [`FaceDetector::detect`] once per photo and map the faces to source pixels
//! with [`Face::scaled`].

pub mod cluster;
pub mod descriptor;
mod geometry;
mod model;

use std::panic::{self, AssertUnwindSafe};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use geometry::Candidate;
use model::{BlazeFaceModel, ModelKind};

/// One detected face, in the upright source image's pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// `[x, y, width, height]` of the face box, top-left origin.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// Detector confidence in 0..=1.
    pub score: f32,
    /// Eye centres `[[x, y], [x, y]]`, the one further left in the image first.
    pub eyes: [[f32; 2]; 2],
}

impl Face {
    /// The same face with every coordinate multiplied by `factor`; the score is unchanged.
    ///
    /// [`FaceDetector::detect`] answers in the pixels of the image it was given;
    /// use `factor = source_width / detection_width` to get upright source pixels.
    pub fn scaled(&self, factor: f32) -> Face {
        let [x, y, width, height] = self.bbox;
        let [[left_x, left_y], [right_x, right_y]] = self.eyes;
        Face {
            bbox: [x * factor, y * factor, width * factor, height * factor],
            score: self.score,
            eyes: [
                [left_x * factor, left_y * factor],
                [right_x * factor, right_y * factor],
            ],
        }
    }

    /// Box area in square pixels (faces are reported largest first).
    pub fn area(&self) -> f32 {
        self.bbox[2].max(0.0) * self.bbox[3].max(0.0)
    }
}

/// Why face detection failed for a photo.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// An embedded model could not be loaded; a build problem, not the photo's.
    #[error("loading the built-in {model} face model failed while {message}")]
    ModelLoad {
        model: &'static str,
        message: String,
    },
    /// The image given to the detector has no pixels.
    #[error("cannot detect faces in an empty {width}x{height} image")]
    EmptyImage { width: u32, height: u32 },
    /// tract reported an error while running a model.
    #[error("running the {model} face model on a {width}x{height} image: {message}")]
    Inference {
        model: &'static str,
        width: u32,
        height: u32,
        message: String,
    },
    /// A model's outputs did not have the expected shapes.
    #[error("the {model} face model gave unexpected outputs: {message}")]
    UnexpectedOutput {
        model: &'static str,
        message: String,
    },
    /// A face's eyes cannot place the aligned chip its descriptor needs.
    #[error("cannot align the face at {bbox:?} for its descriptor: {message}")]
    Unalignable { bbox: [f32; 4], message: String },
    /// The detector panicked; caught so one photo cannot take a batch down.
    #[error("the {model} face model panicked on a {width}x{height} image: {message}")]
    Panicked {
        model: &'static str,
        width: u32,
        height: u32,
        message: String,
    },
}

/// Default minimum detection score (after the sigmoid), tuned on the test corpus:
/// true faces there score 0.66 and up, false detections on face-free photos 0.43 at most.
pub const DEFAULT_MIN_SCORE: f32 = 0.55;
/// The short-range network's own floor: its true faces on the corpus score 0.86
/// and up, but on group photos it gives boxes spanning two small faces at up to 0.56.
const SHORT_RANGE_MIN_SCORE: f32 = 0.75;
/// Boxes overlapping more than this (intersection over union) are one face.
const MERGE_IOU: f32 = 0.3;

/// Which embedded networks [`FaceDetector::detect`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaceModels {
    /// Both, merged: the default.
    #[default]
    Both,
    /// Only the full-range network (256 px input): faces of any size.
    FullRange,
    /// Only the short-range network (128 px input): faces filling much of the frame.
    ShortRange,
}

/// BlazeFace face detector: both embedded networks, loaded and optimised once.
///
/// `FaceDetector` is `Send + Sync` (tract's plans are immutable and every
/// [`detect`](Self::detect) call makes its own run state), so build one per run
/// and share it by reference across rayon threads; no per-thread copies are needed.
/// tract runs each call on the calling thread; only the letterbox resize
/// (fast_image_resize) may borrow rayon's pool.
#[derive(Debug)]
pub struct FaceDetector {
    full_range: BlazeFaceModel,
    short_range: BlazeFaceModel,
    models: FaceModels,
    min_score: f32,
    /// Drop detections whose eyes no real face has (see `Candidate::implausible`).
    check_geometry: bool,
}

impl FaceDetector {
    /// Loads and optimises the embedded models (about 0.3 s; do it once per run).
    pub fn new() -> Result<Self, FaceError> {
        Ok(FaceDetector {
            full_range: BlazeFaceModel::load(ModelKind::FullRange)?,
            short_range: BlazeFaceModel::load(ModelKind::ShortRange)?,
            models: FaceModels::default(),
            min_score: DEFAULT_MIN_SCORE,
            check_geometry: true,
        })
    }

    /// Sets the minimum score (0..=1) a face needs to be reported. The
    /// short-range network's detections need at least 0.75 whatever this says.
    pub fn with_min_score(mut self, min_score: f32) -> Self {
        if !min_score.is_nan() {
            self.min_score = min_score.clamp(0.0, 1.0);
        }
        self
    }

    /// Whether detections whose eye geometry no real face has are dropped (on by default;
    /// off only to measure what the check removes).
    pub fn with_geometry_check(mut self, check_geometry: bool) -> Self {
        self.check_geometry = check_geometry;
        self
    }

    /// Chooses which networks run (both by default).
    pub fn with_models(mut self, models: FaceModels) -> Self {
        self.models = models;
        self
    }

    /// Finds the faces in `upright`, largest first, in `upright`'s own pixels.
    ///
    /// `upright` should be a small upright (EXIF orientation applied) copy of the
    /// photo, about 256 to 640 pixels on its long side: the networks see at most
    /// 256 pixels, so larger inputs only cost resizing time. Map results to the
    /// source with [`Face::scaled`]. Boxes may run past the image edges when a
    /// face is cut by the frame.
    ///
    /// Runs both networks (full range for faces of any size, short range for
    /// close-up portraits) and merges their detections by weighted
    /// non-maximum suppression.
    pub fn detect(&self, upright: &RgbImage) -> Result<Vec<Face>, FaceError> {
        if upright.width() == 0 || upright.height() == 0 {
            return Err(FaceError::EmptyImage {
                width: upright.width(),
                height: upright.height(),
            });
        }
        let mut candidates = Vec::new();
        if self.models != FaceModels::ShortRange {
            candidates.extend(self.candidates(&self.full_range, upright, self.min_score)?);
        }
        if self.models != FaceModels::FullRange {
            let min_score = self.min_score.max(SHORT_RANGE_MIN_SCORE);
            candidates.extend(self.candidates(&self.short_range, upright, min_score)?);
        }
        if self.check_geometry {
            // Before merging, so a phantom never pulls a real face's box or eyes towards it.
            candidates.retain(|candidate: &Candidate| candidate.implausible().is_none());
        }
        let mut faces: Vec<Face> = geometry::weighted_nms(candidates, MERGE_IOU)
            .into_iter()
            .map(Candidate::to_face)
            .collect();
        faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
        Ok(faces)
    }

    /// One network's candidates, with any panic inside tract turned into an error.
    fn candidates(
        &self,
        model: &BlazeFaceModel,
        upright: &RgbImage,
        min_score: f32,
    ) -> Result<Vec<Candidate>, FaceError> {
        panic::catch_unwind(AssertUnwindSafe(|| model.candidates(upright, min_score)))
            .unwrap_or_else(|payload| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                Err(FaceError::Panicked {
                    model: model.kind().name(),
                    width: upright.width(),
                    height: upright.height(),
                    message,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FaceDetector>();
    }

    #[test]
    fn scaled_multiplies_every_coordinate() {
        let face = Face {
            bbox: [10.0, 20.0, 30.0, 40.0],
            score: 0.9,
            eyes: [[15.0, 30.0], [25.0, 31.0]],
        };
        let scaled = face.scaled(2.5);
        assert_eq!(scaled.bbox, [25.0, 50.0, 75.0, 100.0]);
        assert_eq!(scaled.eyes, [[37.5, 75.0], [62.5, 77.5]]);
        assert_eq!(scaled.score, 0.9);
        assert_eq!(face.area(), 1200.0);
    }

    #[test]
    fn face_serialises_with_box_key() {
        let face = Face {
            bbox: [1.0, 2.0, 3.0, 4.0],
            score: 0.5,
            eyes: [[1.0, 2.0], [3.0, 4.0]],
        };
        let json = serde_json::to_string(&face).expect("serialises");
        assert_eq!(
            json,
            r#"{"box":[1.0,2.0,3.0,4.0],"score":0.5,"eyes":[[1.0,2.0],[3.0,4.0]]}"#
        );
    }

    #[test]
    fn empty_and_blank_images() {
        let detector = FaceDetector::new().expect("models load");
        let empty = RgbImage::new(0, 10);
        assert!(matches!(
            detector.detect(&empty),
            Err(FaceError::EmptyImage {
                width: 0,
                height: 10
            })
        ));
        let white = RgbImage::from_pixel(300, 200, image::Rgb([255, 255, 255]));
        assert!(detector.detect(&white).expect("runs").is_empty());
        let one_pixel = RgbImage::from_pixel(1, 1, image::Rgb([90, 60, 40]));
        assert!(detector.detect(&one_pixel).expect("runs").is_empty());
    }
}
