//! Face detection on the upright image (BlazeFace), shared by every derivative.

use serde::{Deserialize, Serialize};

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
