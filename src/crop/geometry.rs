//! Crop geometry shared by the anchors: the rotated frame, whole-pixel sizes that
//! keep an aspect ratio exact, and keeping a window inside the photo.

use super::preset::gcd;

/// The upright source image turned by `rotation_degrees` about its centre.
///
/// Crop windows live in this frame: same pixel grid and centre as the source,
/// with the picture turned (positive = clockwise on screen, y pointing down).
/// With no rotation it is simply the source's pixel space.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub width: f64,
    pub height: f64,
    cos: f64,
    sin: f64,
}

impl Frame {
    pub fn new(upright_size: (u32, u32), rotation_degrees: f64) -> Frame {
        let radians = rotation_degrees.to_radians();
        Frame {
            width: f64::from(upright_size.0),
            height: f64::from(upright_size.1),
            cos: radians.cos(),
            sin: radians.sin(),
        }
    }

    pub fn is_rotated(&self) -> bool {
        self.sin.abs() > 1e-9
    }

    pub fn centre(&self) -> (f64, f64) {
        (self.width / 2.0, self.height / 2.0)
    }

    /// A source point as seen in the rotated frame.
    pub fn rotated(&self, point: (f64, f64)) -> (f64, f64) {
        let (cx, cy) = self.centre();
        let (dx, dy) = (point.0 - cx, point.1 - cy);
        (
            cx + dx * self.cos - dy * self.sin,
            cy + dx * self.sin + dy * self.cos,
        )
    }

    /// A rotated-frame point back in source pixels.
    pub fn unrotated(&self, point: (f64, f64)) -> (f64, f64) {
        let (cx, cy) = self.centre();
        let (dx, dy) = (point.0 - cx, point.1 - cy);
        (
            cx + dx * self.cos + dy * self.sin,
            cy - dx * self.sin + dy * self.cos,
        )
    }

    /// A rotated-frame offset (no translation) expressed along the source axes.
    pub fn offset_to_source(&self, offset: (f64, f64)) -> (f64, f64) {
        (
            offset.0 * self.cos + offset.1 * self.sin,
            -offset.0 * self.sin + offset.1 * self.cos,
        )
    }

    /// Safety margin in source px: when rotated, rounding the window to whole pixels
    /// may move a corner by up to ~0.7 px, which must not reach past the photo.
    fn margin(&self) -> f64 {
        if self.is_rotated() {
            1.0
        } else {
            0.0
        }
    }

    /// Half the extent, along the source x and y axes, of a `width`x`height` window of this frame.
    fn source_half_extents(&self, width: f64, height: f64) -> (f64, f64) {
        let (cos, sin) = (self.cos.abs(), self.sin.abs());
        (
            (width * cos + height * sin) / 2.0,
            (width * sin + height * cos) / 2.0,
        )
    }

    /// Height of the largest window of `aspect` (width / height) lying inside the photo.
    pub fn max_height(&self, aspect: f64) -> f64 {
        let (cos, sin) = (self.cos.abs(), self.sin.abs());
        let usable_width = (self.width - 2.0 * self.margin()).max(1.0);
        let usable_height = (self.height - 2.0 * self.margin()).max(1.0);
        (usable_width / (aspect * cos + sin)).min(usable_height / (aspect * sin + cos))
    }

    /// The centre nearest `centre` at which a `width`x`height` window lies inside the photo.
    ///
    /// In source axes the allowed centres form an axis-aligned box, and rotation keeps
    /// distances, so clamping each source coordinate gives the nearest allowed centre.
    pub fn clamp_centre(&self, centre: (f64, f64), width: f64, height: f64) -> (f64, f64) {
        let (half_x, half_y) = self.source_half_extents(width, height);
        let margin = self.margin();
        let clamp = |value: f64, half: f64, limit: f64| {
            let (low, high) = (half + margin, limit - half - margin);
            if low > high {
                limit / 2.0
            } else {
                value.clamp(low, high)
            }
        };
        let source = self.unrotated(centre);
        let clamped = (
            clamp(source.0, half_x, self.width),
            clamp(source.1, half_y, self.height),
        );
        self.rotated(clamped)
    }

    /// Largest scale `s` such that the window with corners `anchor + s * corner_offset`
    /// (offsets in the rotated frame) lies inside the photo; 0 if `anchor` is outside.
    pub fn max_scale_about(&self, anchor: (f64, f64), corner_offsets: &[(f64, f64)]) -> f64 {
        let margin = self.margin();
        let anchor_source = self.unrotated(anchor);
        let mut best = f64::INFINITY;
        for &offset in corner_offsets {
            let along_source = self.offset_to_source(offset);
            for (position, direction, limit) in [
                (anchor_source.0, along_source.0, self.width),
                (anchor_source.1, along_source.1, self.height),
            ] {
                let (low, high) = (margin, limit - margin);
                if position < low || position > high {
                    return 0.0;
                }
                if direction > 0.0 {
                    best = best.min((high - position) / direction);
                } else if direction < 0.0 {
                    best = best.min((position - low) / -direction);
                }
            }
        }
        best
    }
}

/// The largest whole-pixel size of `ratio` (reduced `width:height`) within `max_width`x`max_height`.
///
/// Prefers exact multiples of the reduced ratio (4:5 gives 4k x 5k) so the aspect
/// survives every later scaling; falls back to rounding when a multiple would waste
/// more than 2% (odd ratios like 1001:1000, or images a few pixels across).
pub(crate) fn aspect_size(ratio: (u32, u32), max_width: f64, max_height: f64) -> (u32, u32) {
    let (ratio_width, ratio_height) = (f64::from(ratio.0.max(1)), f64::from(ratio.1.max(1)));
    let max_width = max_width.max(1.0);
    let ideal_height = max_height
        .max(1.0)
        .min(max_width * ratio_height / ratio_width);
    let multiple = (ideal_height / ratio_height + 1e-9).floor();
    if multiple >= 1.0 && multiple * ratio_height >= ideal_height * 0.98 {
        return (
            (multiple * ratio_width) as u32,
            (multiple * ratio_height) as u32,
        );
    }
    let height = (ideal_height + 1e-9).floor().max(1.0);
    let width = (height * ratio_width / ratio_height)
        .round()
        .clamp(1.0, max_width.floor());
    (width as u32, height as u32)
}

/// Whole-pixel size of a `width`x`height` crop after scaling by `scale`, keeping its
/// aspect as exact as whole pixels allow (multiples of the reduced ratio when close).
pub(crate) fn scaled_size(width: u32, height: u32, scale: f64) -> (u32, u32) {
    let divisor = gcd(width, height);
    let (ratio_width, ratio_height) = (width / divisor, height / divisor);
    let target_height = f64::from(height) * scale;
    let multiple = (f64::from(divisor) * scale).round();
    let tolerance = (target_height * 0.02).max(1.0);
    if multiple >= 1.0 && (multiple * f64::from(ratio_height) - target_height).abs() <= tolerance {
        return (
            (multiple * f64::from(ratio_width)) as u32,
            (multiple * f64::from(ratio_height)) as u32,
        );
    }
    // Round the long side, derive the short one from the exact ratio: at most half a pixel off.
    let (long, short) = (width.max(height), width.min(height));
    let scaled_long = (f64::from(long) * scale).round().max(1.0);
    let scaled_short = (scaled_long * f64::from(short) / f64::from(long))
        .round()
        .max(1.0);
    if width >= height {
        (scaled_long as u32, scaled_short as u32)
    } else {
        (scaled_short as u32, scaled_long as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips_points() {
        let frame = Frame::new((640, 480), 7.5);
        let point = (100.0, 50.0);
        let back = frame.unrotated(frame.rotated(point));
        assert!((back.0 - point.0).abs() < 1e-9 && (back.1 - point.1).abs() < 1e-9);
        // Positive rotation is clockwise on screen: a point right of centre moves down.
        let turned = Frame::new((100, 100), 90.0).rotated((100.0, 50.0));
        assert!((turned.0 - 50.0).abs() < 1e-9 && (turned.1 - 100.0).abs() < 1e-9);
    }

    #[test]
    fn max_window_in_rotated_frame_stays_inside() {
        for degrees in [-10.0, -2.0, 3.0, 15.0] {
            let frame = Frame::new((600, 400), degrees);
            let height = frame.max_height(0.8);
            let width = height * 0.8;
            let centre = frame.clamp_centre((0.0, 0.0), width, height);
            for corner in [(-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5)] {
                let source =
                    frame.unrotated((centre.0 + corner.0 * width, centre.1 + corner.1 * height));
                assert!(
                    (-1e-6..=600.0 + 1e-6).contains(&source.0),
                    "{degrees}: {source:?}"
                );
                assert!(
                    (-1e-6..=400.0 + 1e-6).contains(&source.1),
                    "{degrees}: {source:?}"
                );
            }
        }
    }

    #[test]
    fn sizes_keep_aspect() {
        assert_eq!(aspect_size((4, 5), 5184.0, 3456.0), (2764, 3455));
        assert_eq!(aspect_size((1, 1), 8.0, 6.0), (6, 6));
        assert_eq!(aspect_size((4, 5), 8.0, 8.0), (6, 8));
        assert_eq!(aspect_size((1001, 1000), 500.0, 500.0), (499, 499));
        assert_eq!(scaled_size(2764, 3455, 0.25), (692, 865));
        assert_eq!(scaled_size(3, 7, 1.0), (3, 7));
    }
}
