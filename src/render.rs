//! The render pass: every derivative of a photo from its one working image and its analysis:
//! crop, resize, tone at the derivative's own size, sharpen, encode. The encoded files wait in
//! the staging folder without names or people metadata; the finish pass completes them.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::analyse::{self, PhotoAnalysis};
use crate::crop::{self, Anchor, CropPlan, CropPreset};
use crate::encode::{self, OutputFormat};
use crate::error::{PhotoError, Stage};
use crate::fingerprint;
use crate::manifest::CropRecord;
use crate::metadata::CropWindow;
use crate::output;
use crate::plan::RunOptions;
use crate::presets::DerivativeSpec;
use crate::resize::{self, SourceBox};
use crate::timing::{StageClock, TimedStage};
use crate::tone::PhotoGrade;

/// Staged derivatives, inside the output folder (hidden, so discovery never enters it).
pub const STAGING_FOLDER: &str = ".headshot/staging";
/// Room left in a `max_bytes` budget for the metadata the finish pass adds (at most a quarter of
/// a small budget); an output that still ends up over is flagged for review by the finish pass.
pub const METADATA_RESERVE_BYTES: u64 = 24 * 1024;
/// Bump when rendering changes its pixels for the same settings.
const RENDER_VERSION: u32 = 2;

/// One staged derivative and what the finish pass and the manifest need to know of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagedOutput {
    pub derivative: String,
    /// File name in the staging folder.
    pub staged: String,
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    pub quality: u8,
    pub crop: CropRecord,
    /// Where the derivative was cut, for mapping faces into its frame.
    pub window: CropWindowRecord,
}

/// [`CropWindow`] in a form the state file keeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CropWindowRecord {
    pub rect: [f64; 4],
    pub rotation_degrees: f64,
    pub upright_size: (u32, u32),
}

impl From<CropWindowRecord> for CropWindow {
    fn from(record: CropWindowRecord) -> Self {
        CropWindow {
            rect: record.rect,
            rotation_degrees: record.rotation_degrees,
            upright_size: record.upright_size,
        }
    }
}

/// What rendering one photo made: its staged derivatives and what it found on the way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    /// The render fingerprint these outputs were made with.
    pub key: String,
    pub outputs: Vec<StagedOutput>,
    pub warnings: Vec<String>,
    pub needs_review: Option<String>,
    pub face_exposure_ev: Option<f32>,
    pub crop: Option<CropRecord>,
}

/// The settings that shape one derivative's pixels (its name template does not).
#[derive(Serialize)]
struct DerivativeShape<'a> {
    spec: DerivativeSpec,
    crop: &'a CropPreset,
}

/// Everything that shapes a photo's rendered pixels: explicit, serialised and hashed.
#[derive(Serialize)]
struct RenderFingerprint<'a> {
    generator: &'static str,
    render_version: u32,
    analysis_version: u32,
    source_xxh3: String,
    derivatives: Vec<DerivativeShape<'a>>,
    tone: String,
    max_megapixels: u64,
}

/// The fingerprint of the settings that shape the pixels of every photo, before its content hash.
pub fn render_key(options: &RunOptions, tone_fingerprint: u64, source_xxh3: u64) -> String {
    let derivatives = options
        .export
        .derivatives
        .iter()
        .zip(options.crop_presets())
        .map(|(spec, (_, crop))| DerivativeShape {
            spec: DerivativeSpec {
                template: None,
                ..spec.clone()
            },
            crop,
        })
        .collect();
    fingerprint::hex(fingerprint::of(&RenderFingerprint {
        generator: env!("CARGO_PKG_VERSION"),
        render_version: RENDER_VERSION,
        analysis_version: analyse::ANALYSIS_VERSION,
        source_xxh3: fingerprint::hex(source_xxh3),
        derivatives,
        tone: fingerprint::hex(tone_fingerprint),
        max_megapixels: options.max_megapixels,
    }))
}

/// The staging folder of an output folder.
pub fn staging_folder(output_dir: &Path) -> PathBuf {
    output_dir.join(STAGING_FOLDER)
}

/// The decode scale a photo of `upright` size needs so that no derivative is made from fewer
/// pixels than it has; a face crop's size is known only after detection, so it budgets for a
/// crop half the frame. Slates need about 2000 px on the long edge to read a small card.
pub fn decode_scale(options: &RunOptions, upright: (u32, u32)) -> f64 {
    let outputs = options
        .export
        .derivatives
        .iter()
        .zip(options.crop_presets())
        .map(|(spec, (_, preset))| required_scale(spec, preset, upright))
        .fold(0.0_f64, f64::max);
    let slates = if options.reads_slates() {
        2000.0 / f64::from(upright.0.max(upright.1).max(1))
    } else {
        0.0
    };
    outputs.max(slates).min(1.0)
}

fn required_scale(spec: &DerivativeSpec, preset: &CropPreset, upright: (u32, u32)) -> f64 {
    let (ratio_width, ratio_height) = preset.aspect.ratio_for(upright);
    let fit = (upright.0 as f64 / ratio_width as f64).min(upright.1 as f64 / ratio_height as f64);
    let zoom = preset.zoom.max(1.0);
    let mut crop = (
        ratio_width as f64 * fit / zoom,
        ratio_height as f64 * fit / zoom,
    );
    if preset.anchor == Anchor::Face {
        crop = (crop.0 / 2.0, crop.1 / 2.0);
    }
    let output = spec.output_size((crop.0.round() as u32, crop.1.round() as u32));
    (output.0 as f64 / crop.0).max(output.1 as f64 / crop.1)
}

/// One photo's working image and what rendering needs around it.
pub struct RenderInput<'a> {
    pub working: &'a RgbImage,
    /// Working pixels per upright source pixel.
    pub scale: f64,
    pub analysis: &'a PhotoAnalysis,
    pub grade: &'a PhotoGrade<'a>,
    pub face_exposure_ev: Option<f32>,
    pub clock: &'a StageClock,
}

/// Renders every derivative of one photo into the staging folder under `key`.
pub fn render(
    input: &RenderInput<'_>,
    options: &RunOptions,
    key: &str,
    resizer: &mut fast_image_resize::Resizer,
) -> Result<Rendered, (Stage, PhotoError)> {
    let mut rendered = Rendered {
        key: key.to_string(),
        face_exposure_ev: input
            .face_exposure_ev
            .map(|ev| (ev * 100.0).round() / 100.0),
        ..Rendered::default()
    };
    let staging = staging_folder(&options.output_dir);
    fs::create_dir_all(&staging).map_err(|source| {
        (
            Stage::Write,
            PhotoError::Write {
                path: staging.clone(),
                source,
            },
        )
    })?;
    // Each derivative is sized from the one before it when that one shows the same crop and is
    // at least CASCADE_MIN_RATIO larger (exports list sizes largest first): resizing costs about
    // what the source has in pixels, so the 1024 px from the 2048 px costs a quarter of the 1024
    // px from the 24 MP frame. Grading waits until the next derivative has been cut from it.
    let mut pending: Option<Pending<'_>> = None;
    for (index, (spec, (_, preset))) in options
        .export
        .derivatives
        .iter()
        .zip(options.crop_presets())
        .enumerate()
    {
        let crop_key = analyse::crop_key(preset);
        let plan = input.analysis.crop(&crop_key).ok_or_else(|| {
            (
                Stage::Crop,
                PhotoError::Processing(format!("no crop planned for {}", spec.name)),
            )
        })?;
        note_plan(&mut rendered, plan);
        let size = output_size(spec, plan, input.scale);
        let larger = pending
            .as_ref()
            .filter(|earlier| earlier.crop_key == crop_key && cascades(&earlier.image, size))
            .map(|earlier| &earlier.image);
        let image = cut_and_size(input, plan, size, larger, resizer)?;
        if let Some(earlier) = pending.take() {
            rendered.outputs.push(earlier.finish(input, &staging)?);
        }
        pending = Some(Pending {
            index,
            key,
            crop_key,
            spec,
            plan,
            image,
        });
    }
    if let Some(last) = pending {
        rendered.outputs.push(last.finish(input, &staging)?);
    }
    rendered.crop = rendered.outputs.first().map(|output| output.crop.clone());
    Ok(rendered)
}

/// A derivative sized from a larger one of the same crop needs it this much larger on both sides.
const CASCADE_MIN_RATIO: f64 = 1.5;

fn cascades(larger: &RgbImage, size: (u32, u32)) -> bool {
    f64::from(larger.width()) >= f64::from(size.0) * CASCADE_MIN_RATIO
        && f64::from(larger.height()) >= f64::from(size.1) * CASCADE_MIN_RATIO
}

/// A crop plan's warnings and review note, once per photo.
fn note_plan(rendered: &mut Rendered, plan: &CropPlan) {
    for warning in &plan.warnings {
        if !rendered.warnings.contains(warning) {
            rendered.warnings.push(warning.clone());
        }
    }
    if rendered.needs_review.is_none() {
        rendered.needs_review = plan.needs_review.clone();
    }
}

/// The derivative's pixel size: the spec's, but never more than the working image holds for
/// this crop (no upscaling).
fn output_size(spec: &DerivativeSpec, plan: &CropPlan, scale: f64) -> (u32, u32) {
    let rect = plan.rect;
    let available = (
        ((rect.width as f64 * scale).floor() as u32).max(1),
        ((rect.height as f64 * scale).floor() as u32).max(1),
    );
    let size = spec.output_size((rect.width, rect.height));
    if size.0 > available.0 || size.1 > available.1 {
        spec.output_size(available)
    } else {
        size
    }
}

/// The derivative's pixels before grading: cut from the working image (or resized from `larger`,
/// an ungraded derivative of the same crop) to `size`.
fn cut_and_size(
    input: &RenderInput<'_>,
    plan: &CropPlan,
    size: (u32, u32),
    larger: Option<&RgbImage>,
    resizer: &mut fast_image_resize::Resizer,
) -> Result<RgbImage, (Stage, PhotoError)> {
    let mut since = Instant::now();
    let scale = input.scale;
    let rect = plan.rect;
    let resized = if let Some(larger) = larger {
        resize::crop_and_resize(resizer, larger, SourceBox::whole(larger), size.0, size.1)
    } else if plan.rotation_degrees.abs() > 1e-9 || plan.pad.is_some() {
        let cropped = crop::apply_crop(input.working, plan, scale);
        resize::crop_and_resize(
            resizer,
            &cropped,
            SourceBox::whole(&cropped),
            size.0,
            size.1,
        )
    } else {
        let source_box = SourceBox {
            left: rect.x as f64 * scale,
            top: rect.y as f64 * scale,
            width: rect.width as f64 * scale,
            height: rect.height as f64 * scale,
        };
        resize::crop_and_resize(resizer, input.working, source_box, size.0, size.1)
    };
    let resized = resized.map_err(|message| (Stage::Resize, PhotoError::Processing(message)))?;
    input.clock.lap(TimedStage::Resize, &mut since);
    Ok(resized)
}

/// A derivative cut and sized, waiting to be graded, encoded and staged.
struct Pending<'a> {
    index: usize,
    key: &'a str,
    crop_key: String,
    spec: &'a DerivativeSpec,
    plan: &'a CropPlan,
    image: RgbImage,
}

impl Pending<'_> {
    /// Grades, sharpens and encodes the derivative, and stages it.
    fn finish(
        mut self,
        input: &RenderInput<'_>,
        staging: &Path,
    ) -> Result<StagedOutput, (Stage, PhotoError)> {
        let mut since = Instant::now();
        let spec = self.spec;
        input.grade.apply(&mut self.image);
        input.clock.lap(TimedStage::Tone, &mut since);
        let budget = spec
            .max_bytes
            .map(|max| max - METADATA_RESERVE_BYTES.min(max / 4));
        let encoded = encode::encode_within(
            &self.image,
            &spec.encode_settings(),
            budget,
            spec.min_quality,
        )
        .map_err(|message| (Stage::Encode, PhotoError::Processing(message)))?;
        input.clock.lap(TimedStage::Encode, &mut since);
        let staged = format!("{}-{}.{}", self.key, self.index, spec.format.extension());
        let destination = staging.join(&staged);
        output::write_atomically(&destination, &encoded.bytes).map_err(|source| {
            (
                Stage::Write,
                PhotoError::Write {
                    path: destination.clone(),
                    source,
                },
            )
        })?;
        input.clock.lap(TimedStage::Write, &mut since);
        let plan = self.plan;
        let (width, height) = self.image.dimensions();
        crate::pixel_pool::give(self.image.into_raw());
        Ok(StagedOutput {
            derivative: spec.name.clone(),
            staged,
            width,
            height,
            format: spec.format,
            quality: encoded.quality,
            crop: CropRecord::from_plan(plan),
            window: CropWindowRecord {
                rect: [
                    plan.rect.x as f64,
                    plan.rect.y as f64,
                    f64::from(plan.rect.width),
                    f64::from(plan.rect.height),
                ],
                rotation_degrees: plan.rotation_degrees,
                upright_size: plan.upright_size,
            },
        })
    }
}

/// Whether every staged file of `rendered` is still in the staging folder.
pub fn staged_files_exist(rendered: &Rendered, output_dir: &Path) -> bool {
    let staging = staging_folder(output_dir);
    rendered
        .outputs
        .iter()
        .all(|output| staging.join(&output.staged).is_file())
}
