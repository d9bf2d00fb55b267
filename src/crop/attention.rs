//! Saliency for the `attention` and `thirds` anchors: where a viewer's eye goes in a
//! small preview, from skin tone, saturated colour and edges (in the spirit of libvips
//! smartcrop "attention"), and the window of a given size that holds the most of it.

use image::RgbImage;

/// Weights of the three cues. Skin dominates because a headshot is about a face;
/// saturation is kept low so a bright orange jacket or a flag does not win over it.
const SKIN_WEIGHT: f64 = 1.0;
const SATURATION_WEIGHT: f64 = 0.25;
const EDGE_WEIGHT: f64 = 0.5;

/// Per-pixel saliency of a preview, stored as summed-area tables for O(1) window sums.
pub(crate) struct SaliencyMap {
    width: usize,
    height: usize,
    /// `(width + 1) x (height + 1)` running sums of saliency, and of saliency times
    /// x and times y (for a window's centre of saliency); row and column 0 are zero.
    summed: Vec<f64>,
    summed_x: Vec<f64>,
    summed_y: Vec<f64>,
}

impl SaliencyMap {
    /// Scores every preview pixel and builds the summed-area tables.
    pub fn new(preview: &RgbImage) -> SaliencyMap {
        let (width, height) = (preview.width() as usize, preview.height() as usize);
        let luma: Vec<f64> = preview
            .pixels()
            .map(|pixel| {
                let [red, green, blue] = pixel.0.map(f64::from);
                0.299 * red + 0.587 * green + 0.114 * blue
            })
            .collect();
        let stride = width + 1;
        let mut summed = vec![0.0; stride * (height + 1)];
        let mut summed_x = summed.clone();
        let mut summed_y = summed.clone();
        for y in 0..height {
            let (mut row, mut row_x, mut row_y) = (0.0, 0.0, 0.0);
            for x in 0..width {
                let pixel = preview.get_pixel(x as u32, y as u32).0;
                let score = SKIN_WEIGHT * skin_likeness(pixel)
                    + SATURATION_WEIGHT * saturation(pixel)
                    + EDGE_WEIGHT * edge_strength(&luma, width, height, x, y);
                row += score;
                row_x += score * (x as f64 + 0.5);
                row_y += score * (y as f64 + 0.5);
                let (here, above) = ((y + 1) * stride + x + 1, y * stride + x + 1);
                summed[here] = summed[above] + row;
                summed_x[here] = summed_x[above] + row_x;
                summed_y[here] = summed_y[above] + row_y;
            }
        }
        SaliencyMap {
            width,
            height,
            summed,
            summed_x,
            summed_y,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Sum over the `width`x`height` window at `(x, y)` of one summed-area `table`.
    fn window_total(&self, table: &[f64], x: usize, y: usize, width: usize, height: usize) -> f64 {
        let stride = self.width + 1;
        let (right, bottom) = (x + width, y + height);
        table[bottom * stride + right] - table[y * stride + right] - table[bottom * stride + x]
            + table[y * stride + x]
    }

    /// Centre (preview px) of the `width`x`height` window holding the most saliency.
    ///
    /// Among near-ties (within 0.5% of the best, e.g. every window that holds a
    /// small subject whole) the one whose saliency is most centred wins, so the
    /// subject sits in the middle of the crop, not at its edge; then the one nearest
    /// the preview's centre, so a featureless photo is cropped in the middle.
    pub fn best_window_centre(&self, width: usize, height: usize) -> Option<(f64, f64)> {
        if self.width == 0 || self.height == 0 {
            return None;
        }
        let (width, height) = (width.clamp(1, self.width), height.clamp(1, self.height));
        let positions = || {
            (0..=self.height - height)
                .flat_map(move |y| (0..=self.width - width).map(move |x| (x, y)))
        };
        let best_sum = positions()
            .map(|(x, y)| self.window_total(&self.summed, x, y, width, height))
            .fold(f64::MIN, f64::max);
        if best_sum <= 1e-9 {
            // Nothing salient anywhere: no opinion, the caller centres.
            return None;
        }
        let tie_floor = best_sum * 0.995;
        let (preview_centre_x, preview_centre_y) =
            (self.width as f64 / 2.0, self.height as f64 / 2.0);
        // Off-centre saliency counts far more than distance from the preview's centre.
        let rank = |(x, y): (usize, usize)| {
            let sum = self.window_total(&self.summed, x, y, width, height);
            let centre_x = x as f64 + width as f64 / 2.0;
            let centre_y = y as f64 + height as f64 / 2.0;
            let offset = if sum > 1e-9 {
                let mass_x = self.window_total(&self.summed_x, x, y, width, height) / sum;
                let mass_y = self.window_total(&self.summed_y, x, y, width, height) / sum;
                (mass_x - centre_x).hypot(mass_y - centre_y)
            } else {
                0.0
            };
            let from_middle = (centre_x - preview_centre_x).hypot(centre_y - preview_centre_y);
            (offset.round() + from_middle * 1e-3, (centre_x, centre_y))
        };
        positions()
            .filter(|&(x, y)| self.window_total(&self.summed, x, y, width, height) >= tie_floor)
            .map(rank)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, centre)| centre)
    }
}

/// How close a colour is to human skin, 0..=1: distance from the skin cluster in
/// the YCbCr chroma plane (Cb ~ 110, Cr ~ 150 covers light to dark skin), ignoring
/// very dark and blown-out pixels whose chroma is unreliable.
fn skin_likeness(pixel: [u8; 3]) -> f64 {
    let [red, green, blue] = pixel.map(f64::from);
    let luma = 0.299 * red + 0.587 * green + 0.114 * blue;
    if !(40.0..=245.0).contains(&luma) {
        return 0.0;
    }
    let blue_difference = 128.0 - 0.168_736 * red - 0.331_264 * green + 0.5 * blue;
    let red_difference = 128.0 + 0.5 * red - 0.418_688 * green - 0.081_312 * blue;
    let distance =
        ((blue_difference - 110.0) / 20.0).powi(2) + ((red_difference - 150.0) / 16.0).powi(2);
    (1.0 - distance).max(0.0)
}

/// Chroma (max - min channel) above a neutral threshold, 0..=1, so greys and
/// slightly tinted backdrops score nothing.
fn saturation(pixel: [u8; 3]) -> f64 {
    let max = f64::from(*pixel.iter().max().unwrap_or(&0));
    let min = f64::from(*pixel.iter().min().unwrap_or(&0));
    (((max - min) / 255.0 - 0.2) / 0.6).clamp(0.0, 1.0)
}

/// Local contrast from a 4-neighbour Laplacian of luma, 0..=1, with JPEG noise and
/// backdrop texture (a few levels) cut off.
fn edge_strength(luma: &[f64], width: usize, height: usize, x: usize, y: usize) -> f64 {
    let at = |x: usize, y: usize| luma[y * width + x];
    let centre = at(x, y);
    let left = at(x.saturating_sub(1), y);
    let right = at((x + 1).min(width - 1), y);
    let up = at(x, y.saturating_sub(1));
    let down = at(x, (y + 1).min(height - 1));
    let laplacian = (4.0 * centre - left - right - up - down).abs();
    ((laplacian - 12.0) / 80.0).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn skin_scores_above_grey_orange_and_blue() {
        let skin = [224, 172, 140];
        let dark_skin = [120, 80, 60];
        assert!(skin_likeness(skin) > 0.5, "{}", skin_likeness(skin));
        assert!(
            skin_likeness(dark_skin) > 0.3,
            "{}",
            skin_likeness(dark_skin)
        );
        for other in [[128, 128, 128], [235, 90, 35], [40, 60, 200], [200, 30, 40]] {
            assert!(
                skin_likeness(other) < 0.1,
                "{other:?}: {}",
                skin_likeness(other)
            );
        }
    }

    #[test]
    fn best_window_finds_blob_and_centres_on_ties() {
        let mut preview = RgbImage::from_pixel(200, 100, Rgb([120, 120, 120]));
        for y in 20..50 {
            for x in 140..170 {
                preview.put_pixel(x, y, Rgb([224, 172, 140]));
            }
        }
        let map = SaliencyMap::new(&preview);
        let (x, y) = map.best_window_centre(40, 40).expect("non-empty preview");
        assert!(
            (145.0..=165.0).contains(&x) && (25.0..=45.0).contains(&y),
            "{x},{y}"
        );
        let flat = SaliencyMap::new(&RgbImage::from_pixel(200, 100, Rgb([90, 90, 90])));
        assert_eq!(flat.best_window_centre(40, 40), None);
        // Two equal blobs: the window centred on the one nearer the middle.
        let mut two = RgbImage::from_pixel(200, 100, Rgb([120, 120, 120]));
        for y in 40..60 {
            for x in (20..40).chain(110..130) {
                two.put_pixel(x, y, Rgb([224, 172, 140]));
            }
        }
        let (x, _) = SaliencyMap::new(&two)
            .best_window_centre(30, 30)
            .expect("salient");
        assert!((115.0..=125.0).contains(&x), "{x}");
    }
}
