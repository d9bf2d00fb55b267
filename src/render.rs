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
const RENDER_VERSION: u32 = 1;

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
    for (index, (spec, (_, preset))) in options
        .export
        .derivatives
        .iter()
        .zip(options.crop_presets())
        .enumerate()
    {
        let plan = input
            .analysis
            .crop(&analyse::crop_key(preset))
            .ok_or_else(|| {
                (
                    Stage::Crop,
                    PhotoError::Processing(format!("no crop planned for {}", spec.name)),
                )
            })?;
        note_plan(&mut rendered, plan);
        let staged_name = format!("{key}-{index}.{}", spec.format.extension());
        let output = render_one(input, spec, plan, resizer, &staging.join(&staged_name))?;
        rendered.outputs.push(StagedOutput {
            staged: staged_name,
            ..output
        });
    }
    rendered.crop = rendered.outputs.first().map(|output| output.crop.clone());
    Ok(rendered)
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

/// Cuts, sizes, grades and encodes one derivative, and stages it at `destination`.
fn render_one(
    input: &RenderInput<'_>,
    spec: &DerivativeSpec,
    plan: &CropPlan,
    resizer: &mut fast_image_resize::Resizer,
    destination: &Path,
) -> Result<StagedOutput, (Stage, PhotoError)> {
    let mut since = Instant::now();
    let rect = plan.rect;
    let scale = input.scale;
    // Never more pixels than the working image holds for this crop (no upscaling).
    let available = (
        ((rect.width as f64 * scale).floor() as u32).max(1),
        ((rect.height as f64 * scale).floor() as u32).max(1),
    );
    let mut size = spec.output_size((rect.width, rect.height));
    if size.0 > available.0 || size.1 > available.1 {
        size = spec.output_size(available);
    }
    let resized = if plan.rotation_degrees.abs() > 1e-9 || plan.pad.is_some() {
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
    let mut resized =
        resized.map_err(|message| (Stage::Resize, PhotoError::Processing(message)))?;
    input.clock.lap(TimedStage::Resize, &mut since);
    input.grade.apply(&mut resized);
    input.clock.lap(TimedStage::Tone, &mut since);
    let budget = spec
        .max_bytes
        .map(|max| max - METADATA_RESERVE_BYTES.min(max / 4));
    let encoded =
        encode::encode_within(&resized, &spec.encode_settings(), budget, spec.min_quality)
            .map_err(|message| (Stage::Encode, PhotoError::Processing(message)))?;
    input.clock.lap(TimedStage::Encode, &mut since);
    output::write_atomically(destination, &encoded.bytes).map_err(|source| {
        (
            Stage::Write,
            PhotoError::Write {
                path: destination.to_path_buf(),
                source,
            },
        )
    })?;
    input.clock.lap(TimedStage::Write, &mut since);
    Ok(StagedOutput {
        derivative: spec.name.clone(),
        staged: String::new(),
        width: size.0,
        height: size.1,
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

/// Whether every staged file of `rendered` is still in the staging folder.
pub fn staged_files_exist(rendered: &Rendered, output_dir: &Path) -> bool {
    let staging = staging_folder(output_dir);
    rendered
        .outputs
        .iter()
        .all(|output| staging.join(&output.staged).is_file())
}
