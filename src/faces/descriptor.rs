//! Face identity: a 128-number descriptor per face, close for the same person.
//!
//! [`FaceDescriber`] runs dlib's ResNet face descriptor (as shipped by face-api,
//! converted to ONNX by `tools/face-descriptor/convert.py`, embedded from
//! `models/`) with tract on a 150x150 chip cut from the photo so that the eyes
//! land where dlib's `get_face_chip_details(.., 150, 0.25)` puts them
//! ([`face_chip`]). Two descriptors closer than [`SAME_PERSON_MAX_DISTANCE`]
//! (Euclidean) are taken to be the same person.
//!
//! Descriptors are biometric data: keep them out of outputs and manifests.

mod align;

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use image::RgbImage;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;

use super::{Face, FaceError};

pub use align::{face_chip, CHIP_SIDE};

/// Numbers in one descriptor.
pub const DESCRIPTOR_LEN: usize = 128;

/// Descriptors at most this far apart are the same person.
///
/// Chosen on `../shared/corpus/identity/` (31 photos of 7 people, aligned from
/// BlazeFace's eyes; `tests/identity.rs`): same-person pairs reach 0.51, different
/// people start at 0.64. The threshold sits nearer the same-person side because a
/// wrong name is worse than none. (dlib's own default is 0.6.)
pub const SAME_PERSON_MAX_DISTANCE: f32 = 0.55;

const MODEL_NAME: &str = "face descriptor";

/// One face's identity descriptor (dlib's 128-D embedding).
///
/// Serialises as a plain list of 128 numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f32>", into = "Vec<f32>")]
pub struct FaceDescriptor(pub [f32; DESCRIPTOR_LEN]);

impl FaceDescriptor {
    /// Euclidean distance, as face-api and dlib measure it.
    pub fn distance(&self, other: &FaceDescriptor) -> f32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }

    /// Whether the two descriptors are within [`SAME_PERSON_MAX_DISTANCE`].
    pub fn same_person(&self, other: &FaceDescriptor) -> bool {
        self.distance(other) <= SAME_PERSON_MAX_DISTANCE
    }
}

impl TryFrom<Vec<f32>> for FaceDescriptor {
    type Error = String;

    fn try_from(values: Vec<f32>) -> Result<Self, Self::Error> {
        let count = values.len();
        <[f32; DESCRIPTOR_LEN]>::try_from(values)
            .map(FaceDescriptor)
            .map_err(|_| format!("a face descriptor has {DESCRIPTOR_LEN} numbers, not {count}"))
    }
}

impl From<FaceDescriptor> for Vec<f32> {
    fn from(descriptor: FaceDescriptor) -> Self {
        descriptor.0.to_vec()
    }
}

/// The embedded descriptor network, loaded and optimised once.
///
/// `Send + Sync` like [`FaceDetector`](super::FaceDetector): build one per run and
/// share it by reference; each call makes its own run state on the calling thread.
pub struct FaceDescriber {
    plan: Arc<TypedRunnableModel>,
}

impl std::fmt::Debug for FaceDescriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceDescriber").finish_non_exhaustive()
    }
}

fn onnx_bytes() -> &'static [u8] {
    include_bytes!("../../models/face_recognition_resnet_150x150.onnx")
}

impl FaceDescriber {
    /// Loads and optimises the embedded network (dequantising its weights).
    pub fn new() -> Result<Self, FaceError> {
        let fail = |stage: &str, error: TractError| FaceError::ModelLoad {
            model: MODEL_NAME,
            message: format!("{stage}: {error:#}"),
        };
        let side = CHIP_SIDE as usize;
        let plan = tract_onnx::onnx()
            .model_for_read(&mut onnx_bytes())
            .map_err(|e| fail("reading the graph", e))?
            .with_input_fact(0, f32::fact([1, 3, side, side]).into())
            .map_err(|e| fail("fixing the input shape", e))?
            .into_optimized()
            .map_err(|e| fail("optimising", e))?
            .into_runnable()
            .map_err(|e| fail("planning", e))?;
        Ok(FaceDescriber { plan })
    }

    /// The descriptor of `face`, found by the detector in `upright`'s own pixels.
    ///
    /// `upright` may be the full-size upright photo or a smaller copy; larger
    /// faces are shrunk with an anti-aliasing filter before the chip is cut.
    pub fn describe(&self, upright: &RgbImage, face: &Face) -> Result<FaceDescriptor, FaceError> {
        self.describe_chip(&face_chip(upright, face)?)
    }

    /// The descriptor of an aligned [`CHIP_SIDE`] x [`CHIP_SIDE`] chip (see [`face_chip`]).
    pub fn describe_chip(&self, chip: &RgbImage) -> Result<FaceDescriptor, FaceError> {
        let (width, height) = chip.dimensions();
        if (width, height) != (CHIP_SIDE, CHIP_SIDE) {
            return Err(FaceError::Inference {
                model: MODEL_NAME,
                width,
                height,
                message: format!("the chip must be {CHIP_SIDE}x{CHIP_SIDE}"),
            });
        }
        panic::catch_unwind(AssertUnwindSafe(|| self.run(chip))).unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(FaceError::Panicked {
                model: MODEL_NAME,
                width,
                height,
                message,
            })
        })
    }

    fn run(&self, chip: &RgbImage) -> Result<FaceDescriptor, FaceError> {
        let outputs = chip_tensor(chip)
            .and_then(|input| self.plan.run(tvec![input.into()]))
            .map_err(|error| FaceError::Inference {
                model: MODEL_NAME,
                width: chip.width(),
                height: chip.height(),
                message: format!("{error:#}"),
            })?;
        let unexpected = |message: String| FaceError::UnexpectedOutput {
            model: MODEL_NAME,
            message,
        };
        let output = outputs
            .first()
            .ok_or_else(|| unexpected("no output".to_owned()))?;
        let view = output
            .try_as_plain_ram()
            .map_err(|e| unexpected(format!("output is not a plain tensor: {e:#}")))?;
        let values = view
            .as_slice::<f32>()
            .map_err(|e| unexpected(format!("output is not f32: {e:#}")))?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(unexpected("output is not finite".to_owned()));
        }
        FaceDescriptor::try_from(values.to_vec()).map_err(unexpected)
    }
}

/// The chip as NCHW float32 RGB in 0..=255; the graph itself subtracts the mean and scales.
fn chip_tensor(chip: &RgbImage) -> TractResult<Tensor> {
    let side = CHIP_SIDE as usize;
    let plane = side * side;
    let mut data = vec![0.0f32; 3 * plane];
    for (index, pixel) in chip.as_raw().chunks_exact(3).enumerate() {
        for (channel, &value) in pixel.iter().enumerate() {
            data[channel * plane + index] = value as f32;
        }
    }
    Tensor::from_shape(&[1, 3, side, side], &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describer_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FaceDescriber>();
    }

    #[test]
    fn distance_is_euclidean() {
        let mut a = FaceDescriptor([0.0; DESCRIPTOR_LEN]);
        let mut b = a.clone();
        a.0[0] = 3.0;
        b.0[127] = 4.0;
        assert_eq!(a.distance(&b), 5.0);
        assert_eq!(b.distance(&a), 5.0);
        assert_eq!(a.distance(&a), 0.0);
        assert!(!a.same_person(&b));
    }

    #[test]
    fn descriptor_serialises_as_a_list_and_checks_its_length() {
        let mut descriptor = FaceDescriptor([0.0; DESCRIPTOR_LEN]);
        descriptor.0[1] = 0.5;
        let json = serde_json::to_string(&descriptor).expect("serialises");
        assert!(json.starts_with("[0.0,0.5,0.0"), "{json}");
        let back: FaceDescriptor = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, descriptor);
        let error = serde_json::from_str::<FaceDescriptor>("[1.0, 2.0]").expect_err("too short");
        assert!(error.to_string().contains("not 2"), "{error}");
    }

    #[test]
    fn model_runs_on_a_grey_chip_and_rejects_other_sizes() {
        let describer = FaceDescriber::new().expect("embedded model loads");
        let grey = RgbImage::from_pixel(CHIP_SIDE, CHIP_SIDE, image::Rgb([128, 128, 128]));
        let descriptor = describer.describe_chip(&grey).expect("runs");
        let norm = descriptor.0.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(norm > 0.1 && norm < 10.0, "norm {norm}");
        let small = RgbImage::new(100, 150);
        assert!(matches!(
            describer.describe_chip(&small),
            Err(FaceError::Inference { width: 100, .. })
        ));
    }
}
