//! `headshot inspect --faces OUT.png`: why a crop came out as it did, drawn on a preview.
//!
//! Draws what the run's own analysis found (see `analyse`): face boxes, eye points and every
//! crop window (with its preset's name). Nothing here detects or plans anything.

use std::path::Path;

use image::{Rgb, RgbImage};
use serde::Serialize;

use crate::analyse::{self, PhotoAnalysis};
use crate::crop::{CropPlan, CropPreset};
use crate::faces::Face;
use crate::manifest::{CropRecord, FaceRecord};

/// Long edge of the drawn preview.
pub const DRAWING_LONG_EDGE: u32 = 900;

/// Faces and crops of one photo, in upright source pixels.
#[derive(Debug, Serialize)]
pub struct FaceAnalysis {
    pub faces: Vec<FaceRecord>,
    /// One entry per crop preset looked at.
    pub crops: Vec<PresetCrop>,
    #[serde(skip)]
    preview: RgbImage,
    #[serde(skip)]
    upright_size: (u32, u32),
    #[serde(skip)]
    plans: Vec<CropPlan>,
    #[serde(skip)]
    source_faces: Vec<Face>,
}

/// Where one crop preset cuts the photo.
#[derive(Debug, Serialize)]
pub struct PresetCrop {
    pub preset: String,
    pub crop: CropRecord,
    pub needs_review: Option<String>,
}

impl FaceAnalysis {
    /// The faces of `analysis` and the plan of each of `presets` (analysed before), to draw on
    /// `preview` (any small upright copy of the photo; empty when nothing is drawn).
    pub fn new(
        analysis: &PhotoAnalysis,
        presets: &[(String, CropPreset)],
        preview: RgbImage,
    ) -> FaceAnalysis {
        let (names, plans): (Vec<&String>, Vec<CropPlan>) = presets
            .iter()
            .filter_map(|(name, preset)| {
                let plan = analysis.crop(&analyse::crop_key(preset))?;
                Some((name, plan.clone()))
            })
            .unzip();
        FaceAnalysis {
            faces: analysis.faces().iter().map(FaceRecord::from_face).collect(),
            crops: names
                .into_iter()
                .zip(&plans)
                .map(|(name, plan)| PresetCrop {
                    preset: name.clone(),
                    crop: CropRecord::from_plan(plan),
                    needs_review: plan.needs_review.clone(),
                })
                .collect(),
            preview,
            upright_size: analysis.upright_size,
            plans,
            source_faces: analysis.faces().to_vec(),
        }
    }
}

/// One colour per crop preset, in order; faces are green, eyes red.
const CROP_COLOURS: [[u8; 3]; 5] = [
    [255, 200, 0],
    [0, 170, 255],
    [255, 80, 200],
    [255, 255, 255],
    [160, 100, 255],
];
const FACE_COLOUR: [u8; 3] = [40, 220, 60];
const EYE_COLOUR: [u8; 3] = [255, 40, 40];

impl FaceAnalysis {
    /// The preview with face boxes, eye points and each crop window drawn on it.
    pub fn drawing(&self) -> RgbImage {
        let mut canvas = self.preview.clone();
        let scale = f64::from(canvas.width()) / f64::from(self.upright_size.0.max(1));
        let to_canvas = |(x, y): (f64, f64)| (x * scale, y * scale);
        for face in &self.source_faces {
            let [x, y, width, height] = face.bbox.map(f64::from);
            let corners = [
                (x, y),
                (x + width, y),
                (x + width, y + height),
                (x, y + height),
            ];
            draw_polygon(&mut canvas, &corners.map(to_canvas), FACE_COLOUR, 2);
            for eye in face.eyes {
                let (ex, ey) = to_canvas((f64::from(eye[0]), f64::from(eye[1])));
                draw_line(&mut canvas, (ex - 5.0, ey), (ex + 5.0, ey), EYE_COLOUR, 2);
                draw_line(&mut canvas, (ex, ey - 5.0), (ex, ey + 5.0), EYE_COLOUR, 2);
            }
        }
        for (index, (plan, named)) in self.plans.iter().zip(&self.crops).enumerate() {
            let colour = CROP_COLOURS[index % CROP_COLOURS.len()];
            let corners = plan.corners_in_source().map(to_canvas);
            draw_polygon(&mut canvas, &corners, colour, 2);
            let (label_x, label_y) = corners[0];
            // Stack labels of windows that start at the same place.
            let label_y = label_y
                + 4.0
                + 18.0 * index as f64 * f64::from(corners_coincide(&self.plans, index));
            draw_text(&mut canvas, &named.preset, (label_x + 4.0, label_y), colour);
        }
        canvas
    }
}

/// Whether an earlier plan's window starts at the same corner as plan `index`.
fn corners_coincide(plans: &[CropPlan], index: usize) -> bool {
    plans[..index]
        .iter()
        .any(|other| (other.rect.x, other.rect.y) == (plans[index].rect.x, plans[index].rect.y))
}

fn put(canvas: &mut RgbImage, x: i64, y: i64, colour: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < canvas.width() && (y as u32) < canvas.height() {
        canvas.put_pixel(x as u32, y as u32, Rgb(colour));
    }
}

fn draw_line(
    canvas: &mut RgbImage,
    from: (f64, f64),
    to: (f64, f64),
    colour: [u8; 3],
    thickness: i64,
) {
    let steps = (to.0 - from.0)
        .abs()
        .max((to.1 - from.1).abs())
        .ceil()
        .max(1.0) as i64;
    for step in 0..=steps {
        let t = step as f64 / steps as f64;
        let x = (from.0 + (to.0 - from.0) * t).round() as i64;
        let y = (from.1 + (to.1 - from.1) * t).round() as i64;
        for dx in 0..thickness {
            for dy in 0..thickness {
                put(
                    canvas,
                    x + dx - thickness / 2,
                    y + dy - thickness / 2,
                    colour,
                );
            }
        }
    }
}

fn draw_polygon(canvas: &mut RgbImage, corners: &[(f64, f64)], colour: [u8; 3], thickness: i64) {
    for (index, &corner) in corners.iter().enumerate() {
        let next = corners[(index + 1) % corners.len()];
        draw_line(canvas, corner, next, colour, thickness);
    }
}

/// Unifont text on a dark band, so it reads on any photo.
fn draw_text(canvas: &mut RgbImage, text: &str, (left, top): (f64, f64), colour: [u8; 3]) {
    let mut x = left.max(0.0) as i64;
    let top = top.max(0.0) as i64;
    for c in text.chars() {
        let Some(glyph) = unifont::get_glyph(c) else {
            continue;
        };
        let width = glyph.get_width() as i64;
        for row in 0..16_i64 {
            for column in 0..width {
                let ink = glyph.get_pixel(column as usize, row as usize);
                put(
                    canvas,
                    x + column,
                    top + row,
                    if ink { colour } else { [0, 0, 0] },
                );
            }
        }
        x += width;
    }
}

/// Writes the drawing as PNG (atomically, like every output).
pub fn write_drawing(analysis: &FaceAnalysis, path: &Path) -> Result<(), String> {
    let mut png = Vec::new();
    analysis
        .drawing()
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|error| format!("encoding {}: {error}", path.display()))?;
    crate::output::write_atomically(path, &png)
        .map_err(|error| format!("writing {}: {error}", path.display()))
}
