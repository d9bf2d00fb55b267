//! BlazeFace's pure maths: letterboxing a photo into the model's square,
//! the anchor grid, decoding raw model outputs and weighted non-maximum suppression.
//!
//! Nothing here touches tract, so every step is unit-tested on plain numbers.

use super::Face;

/// Number of key points BlazeFace predicts per face.
pub(crate) const KEYPOINT_COUNT: usize = 6;
/// Values per anchor in the regressor output: box (4) plus key points (2 each).
pub(crate) const REGRESSOR_WIDTH: usize = 4 + 2 * KEYPOINT_COUNT;
/// The two anchor layers: (cells per side, anchors per cell).
pub(crate) const ANCHOR_LAYERS: [(usize, usize); 2] = [(16, 2), (8, 6)];
/// Raw scores are clipped to this magnitude before the sigmoid, as MediaPipe does.
const SCORE_CLIP: f32 = 100.0;

/// Where a photo sits inside the model's square input.
///
/// The photo is scaled to fit the square, keeping its aspect ratio, and
/// centred; the bands left over are padding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Letterbox {
    /// Side of the model's square input, in pixels.
    pub side: u32,
    /// Size of the scaled photo inside the square.
    pub inner_width: u32,
    pub inner_height: u32,
    /// Offset of the scaled photo's top-left corner inside the square.
    pub pad_left: u32,
    pub pad_top: u32,
    /// Source width and height, to map back exactly despite rounding.
    pub source_width: u32,
    pub source_height: u32,
}

impl Letterbox {
    /// Fits a `width` x `height` photo into a `side` x `side` square.
    ///
    /// Both dimensions must be non-zero (the caller checks).
    pub fn fit(width: u32, height: u32, side: u32) -> Self {
        let longest = width.max(height).max(1) as f32;
        let scale = side as f32 / longest;
        let inner = |length: u32| ((length as f32 * scale).round() as u32).clamp(1, side);
        let inner_width = inner(width);
        let inner_height = inner(height);
        Letterbox {
            side,
            inner_width,
            inner_height,
            pad_left: (side - inner_width) / 2,
            pad_top: (side - inner_height) / 2,
            source_width: width,
            source_height: height,
        }
    }

    /// Maps a point in the model's normalised square (0..1) to source pixels.
    pub fn to_source(self, normalised: [f32; 2]) -> [f32; 2] {
        let side = self.side as f32;
        let scale_x = self.source_width as f32 / self.inner_width as f32;
        let scale_y = self.source_height as f32 / self.inner_height as f32;
        [
            (normalised[0] * side - self.pad_left as f32) * scale_x,
            (normalised[1] * side - self.pad_top as f32) * scale_y,
        ]
    }

    /// Maps a length along x and one along y in the normalised square to source pixels.
    pub fn lengths_to_source(self, normalised: [f32; 2]) -> [f32; 2] {
        let side = self.side as f32;
        [
            normalised[0] * side * self.source_width as f32 / self.inner_width as f32,
            normalised[1] * side * self.source_height as f32 / self.inner_height as f32,
        ]
    }
}

/// Anchor centres in the normalised square, in the order of the model's outputs:
/// the 16x16 layer (2 per cell), then the 8x8 layer (6 per cell), cells row by row.
pub(crate) fn anchor_centres() -> Vec<[f32; 2]> {
    let count = ANCHOR_LAYERS.iter().map(|(n, k)| n * n * k).sum();
    let mut centres = Vec::with_capacity(count);
    for (cells, per_cell) in ANCHOR_LAYERS {
        for row in 0..cells {
            for column in 0..cells {
                let centre = [
                    (column as f32 + 0.5) / cells as f32,
                    (row as f32 + 0.5) / cells as f32,
                ];
                centres.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
    }
    centres
}

// Limits of a real face's geometry (see `Candidate::implausible`), from every detection at
// score >= 0.3 on the corpus's 512 px copies. Real faces: eye distance / box width 0.27..0.47
// for faces towards the camera, 0.17 for a farmer looking down; eye lines within 17 degrees of
// level for portraits, 55 and 61 for a tilted head cut by the frame and the farmer; the eye
// line 0.18..0.56 down the box; the eyes' midpoint 0.26..0.68 across it. Phantoms (caption
// text, patterns): eye distance 0.08..0.13, eye lines at 73..90 degrees (stacked "eyes"), eye
// lines 0.63..0.72 down. The limits sit between, with the margin on the real side.
const EYE_DISTANCE: (f32, f32) = (0.12, 0.7);
/// Steepest eye line, in degrees from the horizontal, of a tilted head in an upright photo.
const MAX_EYE_LINE_DEGREES: f32 = 70.0;
/// Eye line height within the box (0 top, 1 bottom), and the eyes' midpoint across it.
const EYE_LINE: (f32, f32) = (0.1, 0.6);
const EYE_CENTRE: (f32, f32) = (0.15, 0.85);

/// A decoded detection in source pixels, before suppression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub score: f32,
    /// `[x_min, y_min, x_max, y_max]`.
    pub corners: [f32; 4],
    /// The six key points, in the model's order (subject's right eye first).
    pub keypoints: [[f32; 2]; KEYPOINT_COUNT],
}

impl Candidate {
    fn area(&self) -> f32 {
        (self.corners[2] - self.corners[0]).max(0.0) * (self.corners[3] - self.corners[1]).max(0.0)
    }

    /// Intersection over union of the two boxes (0 when either is empty).
    pub fn iou(&self, other: &Candidate) -> f32 {
        let width = self.corners[2].min(other.corners[2]) - self.corners[0].max(other.corners[0]);
        let height = self.corners[3].min(other.corners[3]) - self.corners[1].max(other.corners[1]);
        let inner = width.max(0.0) * height.max(0.0);
        let union = self.area() + other.area() - inner;
        if union > 0.0 {
            inner / union
        } else {
            0.0
        }
    }

    /// Why no real face has this detection's geometry, if none has. BlazeFace also fires on
    /// windows and tiles, whose two "eyes" it then places stacked or squeezed; a face in an
    /// upright photo has its eyes side by side, apart by a share of its width, in its upper part.
    pub fn implausible(&self) -> Option<&'static str> {
        let [x_min, y_min, x_max, y_max] = self.corners;
        let (width, height) = (x_max - x_min, y_max - y_min);
        if width <= 0.0 || height <= 0.0 {
            return Some("empty box");
        }
        // Left to right in the image, as `Face::eyes`: the angle is then within +-90 degrees.
        let [[right_x, right_y], [left_x, left_y]] = self.to_face().eyes;
        let (dx, dy) = (left_x - right_x, left_y - right_y);
        let eye_distance = dx.hypot(dy) / width;
        if !(EYE_DISTANCE.0..=EYE_DISTANCE.1).contains(&eye_distance) {
            return Some("eye distance unlike a face's");
        }
        if dy.atan2(dx).abs().to_degrees() > MAX_EYE_LINE_DEGREES {
            return Some("eyes not side by side");
        }
        let eye_line = ((right_y + left_y) / 2.0 - y_min) / height;
        let eye_centre = ((right_x + left_x) / 2.0 - x_min) / width;
        if !(EYE_LINE.0..=EYE_LINE.1).contains(&eye_line)
            || !(EYE_CENTRE.0..=EYE_CENTRE.1).contains(&eye_centre)
        {
            return Some("eyes outside the upper middle of the box");
        }
        None
    }

    /// The public record: box as `[x, y, w, h]`, eyes ordered left to right in the image.
    pub fn to_face(self) -> Face {
        let [x_min, y_min, x_max, y_max] = self.corners;
        let [first, second] = [self.keypoints[0], self.keypoints[1]];
        let eyes = if first[0] <= second[0] {
            [first, second]
        } else {
            [second, first]
        };
        Face {
            bbox: [x_min, y_min, x_max - x_min, y_max - y_min],
            score: self.score,
            eyes,
        }
    }
}

/// Logistic function, with the input clipped as MediaPipe does.
pub(crate) fn sigmoid(raw: f32) -> f32 {
    1.0 / (1.0 + (-raw.clamp(-SCORE_CLIP, SCORE_CLIP)).exp())
}

/// Turns raw scores and regressors into candidates above `min_score`, in source pixels.
///
/// `scores` has one raw logit per anchor and `regressors` [`REGRESSOR_WIDTH`]
/// values per anchor, both in the order of [`anchor_centres`]. Regressor values
/// are in model-input pixels relative to the anchor centre.
pub(crate) fn decode(
    scores: &[f32],
    regressors: &[f32],
    anchors: &[[f32; 2]],
    letterbox: &Letterbox,
    min_score: f32,
) -> Vec<Candidate> {
    let side = letterbox.side as f32;
    scores
        .iter()
        .zip(regressors.chunks_exact(REGRESSOR_WIDTH))
        .zip(anchors)
        .filter_map(|((&raw, values), anchor)| {
            let score = sigmoid(raw);
            if score.is_nan() || score < min_score || values.iter().any(|v| !v.is_finite()) {
                return None;
            }
            let point = |dx: f32, dy: f32| {
                letterbox.to_source([anchor[0] + dx / side, anchor[1] + dy / side])
            };
            let centre = point(values[0], values[1]);
            let [width, height] = letterbox.lengths_to_source([values[2] / side, values[3] / side]);
            let mut keypoints = [[0.0; 2]; KEYPOINT_COUNT];
            for (index, keypoint) in keypoints.iter_mut().enumerate() {
                *keypoint = point(values[4 + 2 * index], values[5 + 2 * index]);
            }
            Some(Candidate {
                score,
                corners: [
                    centre[0] - width / 2.0,
                    centre[1] - height / 2.0,
                    centre[0] + width / 2.0,
                    centre[1] + height / 2.0,
                ],
                keypoints,
            })
        })
        .collect()
}

/// MediaPipe's weighted non-maximum suppression.
///
/// Takes the best remaining candidate, gathers every remaining candidate whose
/// box overlaps it by more than `iou_threshold`, and replaces the group by the
/// score-weighted mean of its boxes and key points, scored as its best member.
pub(crate) fn weighted_nms(mut candidates: Vec<Candidate>, iou_threshold: f32) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut merged = Vec::new();
    while let Some(best) = candidates.first().copied() {
        let (group, rest): (Vec<Candidate>, Vec<Candidate>) = candidates
            .into_iter()
            .partition(|candidate| best.iou(candidate) > iou_threshold || *candidate == best);
        candidates = rest;
        let total: f32 = group.iter().map(|c| c.score).sum();
        if total.is_nan() || total <= 0.0 {
            merged.push(best);
            continue;
        }
        let mut blended = Candidate {
            score: best.score,
            corners: [0.0; 4],
            keypoints: [[0.0; 2]; KEYPOINT_COUNT],
        };
        for member in &group {
            let weight = member.score / total;
            for (sum, value) in blended.corners.iter_mut().zip(member.corners) {
                *sum += value * weight;
            }
            for (sum, point) in blended.keypoints.iter_mut().zip(member.keypoints) {
                sum[0] += point[0] * weight;
                sum[1] += point[1] * weight;
            }
        }
        merged.push(blended);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(score: f32, corners: [f32; 4]) -> Candidate {
        let centre = [
            (corners[0] + corners[2]) / 2.0,
            (corners[1] + corners[3]) / 2.0,
        ];
        Candidate {
            score,
            corners,
            keypoints: [centre; KEYPOINT_COUNT],
        }
    }

    #[test]
    fn anchors_follow_the_two_layer_grid() {
        let anchors = anchor_centres();
        assert_eq!(anchors.len(), 896);
        // First layer: cell (0, 0) twice, then cell (1, 0).
        assert_eq!(anchors[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(anchors[1], anchors[0]);
        assert_eq!(anchors[2], [1.5 / 16.0, 0.5 / 16.0]);
        // Last of the first layer: cell (15, 15).
        assert_eq!(anchors[511], [15.5 / 16.0, 15.5 / 16.0]);
        // Second layer starts at cell (0, 0) of the 8x8 grid, six anchors per cell.
        assert_eq!(anchors[512], [0.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(anchors[517], anchors[512]);
        assert_eq!(anchors[518], [1.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(anchors[512 + 6 * 8], [0.5 / 8.0, 1.5 / 8.0]);
        assert_eq!(anchors[895], [7.5 / 8.0, 7.5 / 8.0]);
    }

    #[test]
    fn letterbox_centres_a_landscape_photo() {
        let letterbox = Letterbox::fit(400, 200, 128);
        assert_eq!((letterbox.inner_width, letterbox.inner_height), (128, 64));
        assert_eq!((letterbox.pad_left, letterbox.pad_top), (0, 32));
        // The square's centre is the photo's centre; its top edge is above the photo.
        assert_eq!(letterbox.to_source([0.5, 0.5]), [200.0, 100.0]);
        assert_eq!(letterbox.to_source([0.0, 0.25]), [0.0, 0.0]);
        assert_eq!(letterbox.to_source([1.0, 0.75]), [400.0, 200.0]);
        assert_eq!(letterbox.lengths_to_source([0.5, 0.25]), [200.0, 100.0]);
    }

    #[test]
    fn letterbox_centres_a_portrait_photo_and_survives_extremes() {
        let letterbox = Letterbox::fit(300, 600, 256);
        assert_eq!((letterbox.inner_width, letterbox.inner_height), (128, 256));
        assert_eq!((letterbox.pad_left, letterbox.pad_top), (64, 0));
        assert_eq!(letterbox.to_source([0.25, 0.0]), [0.0, 0.0]);
        // A 1-pixel-high strip still gets one row in the square.
        let strip = Letterbox::fit(5000, 1, 128);
        assert_eq!((strip.inner_width, strip.inner_height), (128, 1));
        // Upscaling a tiny photo fills the square.
        let tiny = Letterbox::fit(64, 64, 256);
        assert_eq!((tiny.inner_width, tiny.pad_left), (256, 0));
        assert_eq!(tiny.to_source([1.0, 1.0]), [64.0, 64.0]);
    }

    #[test]
    fn decode_applies_anchor_offsets_and_threshold() {
        let letterbox = Letterbox::fit(256, 256, 256);
        let anchors = [[0.5, 0.5], [0.25, 0.25]];
        let mut regressors = vec![0.0; 2 * REGRESSOR_WIDTH];
        // Anchor 0: box centred 10 px right of the anchor, 64 x 32 px.
        regressors[0] = 10.0;
        regressors[2] = 64.0;
        regressors[3] = 32.0;
        // Subject's right eye at image-right, left eye at image-left (a mirrored face).
        regressors[4] = 20.0;
        regressors[6] = -20.0;
        let scores = [4.0, -4.0];
        let found = decode(&scores, &regressors, &anchors, &letterbox, 0.5);
        assert_eq!(found.len(), 1, "the second anchor scores below threshold");
        let face = found[0].to_face();
        assert_eq!(face.bbox, [138.0 - 32.0, 128.0 - 16.0, 64.0, 32.0]);
        assert!((face.score - sigmoid(4.0)).abs() < 1e-6);
        assert_eq!(face.eyes, [[108.0, 128.0], [148.0, 128.0]]);
    }

    #[test]
    fn decode_skips_non_finite_values() {
        let letterbox = Letterbox::fit(128, 128, 128);
        let anchors = [[0.5, 0.5], [0.5, 0.5]];
        let mut regressors = vec![0.0; 2 * REGRESSOR_WIDTH];
        regressors[3] = f32::NAN;
        let found = decode(&[5.0, f32::NAN], &regressors, &anchors, &letterbox, 0.5);
        assert!(found.is_empty());
    }

    #[test]
    fn sigmoid_is_clipped_and_monotonic() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(1e9) <= 1.0 && sigmoid(-1e9) >= 0.0);
        assert!(sigmoid(1.0) > sigmoid(0.5));
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = candidate(1.0, [0.0, 0.0, 10.0, 10.0]);
        let b = candidate(1.0, [5.0, 0.0, 15.0, 10.0]);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&candidate(1.0, [20.0, 20.0, 30.0, 30.0])), 0.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&candidate(1.0, [3.0, 3.0, 3.0, 3.0])), 0.0);
    }

    #[test]
    fn weighted_nms_blends_overlaps_and_keeps_separate_faces() {
        let strong = candidate(0.9, [0.0, 0.0, 10.0, 10.0]);
        let weak = candidate(0.3, [2.0, 0.0, 12.0, 10.0]);
        let elsewhere = candidate(0.6, [50.0, 50.0, 60.0, 60.0]);
        let merged = weighted_nms(vec![weak, elsewhere, strong], 0.3);
        assert_eq!(merged.len(), 2);
        // Best first; blended box is pulled a quarter of the way towards the weak one.
        assert_eq!(merged[0].score, 0.9);
        assert!((merged[0].corners[0] - 0.5).abs() < 1e-5);
        assert!((merged[0].corners[2] - 10.5).abs() < 1e-5);
        assert!((merged[0].keypoints[0][0] - 5.5).abs() < 1e-5);
        assert_eq!(merged[1], elsewhere);
    }

    #[test]
    fn weighted_nms_keeps_low_overlap_pairs_apart() {
        let a = candidate(0.9, [0.0, 0.0, 10.0, 10.0]);
        let b = candidate(0.8, [8.0, 0.0, 18.0, 10.0]); // IoU 2/18
        assert_eq!(weighted_nms(vec![a, b], 0.3).len(), 2);
        assert!(weighted_nms(Vec::new(), 0.3).is_empty());
    }

    #[test]
    fn stacked_squeezed_or_low_eyes_are_no_face() {
        // A 100 px box with eyes 40 px apart, level, 30% down: a face.
        let face = |right: [f32; 2], left: [f32; 2]| Candidate {
            score: 0.9,
            corners: [0.0, 0.0, 100.0, 100.0],
            keypoints: [
                right,
                left,
                [50.0, 50.0],
                [50.0, 70.0],
                [5.0, 40.0],
                [95.0, 40.0],
            ],
        };
        assert_eq!(face([30.0, 30.0], [70.0, 30.0]).implausible(), None);
        // A head tilted by 45 degrees is still a face.
        assert_eq!(face([36.0, 18.0], [64.0, 46.0]).implausible(), None);
        // A window: two "eyes" one above the other.
        assert_eq!(
            face([50.0, 20.0], [52.0, 55.0]).implausible(),
            Some("eyes not side by side")
        );
        assert_eq!(
            face([47.0, 30.0], [53.0, 30.0]).implausible(),
            Some("eye distance unlike a face's")
        );
        assert_eq!(
            face([30.0, 75.0], [70.0, 75.0]).implausible(),
            Some("eyes outside the upper middle of the box")
        );
    }
}
