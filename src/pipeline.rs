//! The batch: plan every photo's work up front, then run photos in parallel, one trip each.
//!
//! `Job::plan` validates everything and fixes output names before any pixel is decoded;
//! `Job::run` decodes each photo once and fans out to its derivatives.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::crop::{self, Anchor, CropPlan, CropPreset};
use crate::decode;
use crate::discover::{self, ImageFormat, InputFile};
use crate::encode;
use crate::error::{ConfigError, PhotoError, PhotoFailure, Stage};
use crate::exif_info::{self, ExifInfo};
use crate::gallery;
use crate::manifest::{
    CropRecord, Exposure, IgnoredFile, Manifest, OutputRecord, PhotoRecord, PresetsUsed, Settings,
    Status, Summary, Timing, MANIFEST_VERSION,
};
use crate::metadata::{self, MetadataPolicy, OutputMetadata};
use crate::naming::{NameAllocator, NameTemplate, NameValues};
use crate::orient;
use crate::output;
use crate::presets::{DerivativeSpec, ExportPreset, NamedTone};
use crate::rerun::{self, RerunPolicy, RerunState, Verdict};
use crate::resize::{self, SourceBox};

/// Validated settings for a run; building one checks everything a user can get wrong.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub inputs: Vec<PathBuf>,
    pub output_dir: PathBuf,
    pub export_name: String,
    pub export: ExportPreset,
    /// The shoot's crop preset (name, preset), used by derivatives without their own.
    pub crop: (String, CropPreset),
    /// Per derivative (in export order): a crop preset overriding the shoot's, if any.
    pub derivative_crops: Vec<Option<(String, CropPreset)>>,
    /// The compiled tone preset, applied once per photo.
    pub tone: Arc<NamedTone>,
    pub template: NameTemplate,
    /// Worker threads; `None` uses every core.
    pub jobs: Option<usize>,
    pub max_megapixels: u64,
    /// What the shoot has in common: event, credit, copyright.
    pub shoot: ShootInfo,
    /// What of the source's metadata the derivatives carry.
    pub metadata_policy: MetadataPolicy,
    /// Skip photos whose outputs are still current, or redo all (`--force`).
    pub rerun: RerunPolicy,
}

/// Facts about the whole shoot that go into every photo's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShootInfo {
    pub event: Option<String>,
    /// The photographer's credit line (XMP dc:creator, IPTC By-line, EXIF Artist).
    pub credit: Option<String>,
    pub copyright: Option<String>,
}

/// One photo's planned work.
#[derive(Debug, Clone)]
pub struct PlannedPhoto {
    pub input: InputFile,
    pub exif: ExifInfo,
    pub exif_warnings: Vec<String>,
    /// Output path (relative to the output folder) per derivative, in export order.
    pub output_paths: Vec<PathBuf>,
}

/// A planned batch: photos in capture order, every output name fixed.
#[derive(Debug)]
pub struct Job {
    pub options: RunOptions,
    pub photos: Vec<PlannedPhoto>,
    pub ignored: Vec<(PathBuf, String)>,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunReport {
    pub manifest: Manifest,
    pub failures: Vec<PhotoFailure>,
}

impl RunReport {
    pub fn any_failed(&self) -> bool {
        self.manifest.summary.failed > 0
    }
}

thread_local! {
    static IN_PHOTO: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread is processing a photo: a panic here is caught and reported per file,
/// so a CLI's panic hook can stay quiet about it.
pub fn in_photo_stage() -> bool {
    IN_PHOTO.with(Cell::get)
}

impl Job {
    /// Discovers inputs, reads their EXIF, orders them and fixes every output name.
    pub fn plan(options: RunOptions) -> Result<Job, ConfigError> {
        check_output_folder(&options.inputs, &options.output_dir)?;
        let discovery = discover::discover(&options.inputs, &options.output_dir)?;
        let mut photos: Vec<PlannedPhoto> = discovery
            .files
            .into_par_iter()
            .map(|input| {
                let read = fs::File::open(&input.path)
                    .map(|file| exif_info::read_exif_from(&mut std::io::BufReader::new(file)));
                match read {
                    Ok(read) => PlannedPhoto {
                        input,
                        exif: read.info,
                        exif_warnings: read.warnings,
                        output_paths: Vec::new(),
                    },
                    Err(_) => PlannedPhoto {
                        input,
                        exif: ExifInfo {
                            orientation: 1,
                            ..ExifInfo::default()
                        },
                        exif_warnings: Vec::new(),
                        output_paths: Vec::new(),
                    },
                }
            })
            .collect();
        // Capture order, then path: photos without a capture time go last, by path.
        photos.sort_by(|a, b| {
            let key = |photo: &PlannedPhoto| {
                (
                    photo.exif.capture_time.is_none(),
                    photo.exif.capture_time.clone(),
                    photo.input.path.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        assign_output_paths(&mut photos, &options);
        Ok(Job {
            options,
            photos,
            ignored: discovery.ignored,
        })
    }

    /// Processes every photo; `on_photo_done` is called (from worker threads) as each finishes.
    pub fn run(
        &self,
        on_photo_done: &(dyn Fn(&PhotoRecord) + Sync),
    ) -> Result<RunReport, ConfigError> {
        let started = Instant::now();
        fs::create_dir_all(&self.options.output_dir).map_err(|source| ConfigError::Io {
            path: self.options.output_dir.clone(),
            source,
        })?;
        output::remove_stale_temp_files(&self.options.output_dir);
        let state_error = |source| ConfigError::Io {
            path: self.options.output_dir.join(rerun::STATE_FILE),
            source,
        };
        let rerun = RerunState::open(
            &self.options.output_dir,
            self.options.rerun,
            rerun::run_settings_hash(&self.options),
        )
        .map_err(state_error)?;
        let jobs = self
            .options
            .jobs
            .unwrap_or_else(rayon::current_num_threads)
            .max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|error| ConfigError::Usage(format!("cannot start {jobs} workers: {error}")))?;
        let outcomes: Vec<(PhotoRecord, Option<PhotoFailure>)> = pool.install(|| {
            self.photos
                .par_iter()
                .map(|photo| {
                    let outcome = self.process_guarded(photo, &rerun);
                    on_photo_done(&outcome.0);
                    outcome
                })
                .collect()
        });
        let (records, failures): (Vec<PhotoRecord>, Vec<Option<PhotoFailure>>) =
            outcomes.into_iter().unzip();
        let failures: Vec<PhotoFailure> = failures.into_iter().flatten().collect();
        let removed_outputs = rerun.finish(&self.photos).map_err(state_error)?;
        let wall_seconds = started.elapsed().as_secs_f64();
        let summary = Summary {
            photos: records.len(),
            ok: records.iter().filter(|r| r.status == Status::Ok).count(),
            failed: records
                .iter()
                .filter(|r| r.status == Status::Failed)
                .count(),
            skipped: records
                .iter()
                .filter(|r| r.status == Status::Skipped)
                .count(),
            outputs_written: records
                .iter()
                .filter(|r| r.status == Status::Ok)
                .map(|r| r.outputs.len())
                .sum(),
            removed_outputs,
            needs_review: records.iter().filter(|r| r.needs_review.is_some()).count(),
            ignored_files: self
                .ignored
                .iter()
                .map(|(path, reason)| IgnoredFile {
                    path: path.display().to_string(),
                    reason: reason.clone(),
                })
                .collect(),
        };
        let manifest = Manifest {
            schema: "headshot-manifest",
            version: MANIFEST_VERSION,
            generator: format!("headshot {}", env!("CARGO_PKG_VERSION")),
            settings: Settings {
                crop: self.options.crop.0.clone(),
                tone: self.options.tone.name.clone(),
                export: self.options.export_name.clone(),
                template: self.options.template.as_str().to_string(),
                derivatives: self
                    .options
                    .export
                    .derivatives
                    .iter()
                    .map(|d| d.name.clone())
                    .collect(),
            },
            summary,
            review: None,
            timing: Timing {
                wall_seconds,
                photos_per_second: records.len() as f64 / wall_seconds.max(1e-9),
                jobs,
            },
            photos: records,
        };
        let manifest_path = self.options.output_dir.join("manifest.json");
        output::write_atomically(&manifest_path, manifest.to_json().as_bytes()).map_err(
            |source| ConfigError::Io {
                path: manifest_path.clone(),
                source,
            },
        )?;
        let csv_path = self.options.output_dir.join("manifest.csv");
        output::write_atomically(&csv_path, manifest.to_csv().as_bytes()).map_err(|source| {
            ConfigError::Io {
                path: csv_path.clone(),
                source,
            }
        })?;
        gallery::write_index(&manifest, &self.options.output_dir).map_err(|source| {
            ConfigError::Io {
                path: self.options.output_dir.join(gallery::INDEX_FILE),
                source,
            }
        })?;
        Ok(RunReport { manifest, failures })
    }

    fn process_guarded(
        &self,
        photo: &PlannedPhoto,
        rerun: &RerunState,
    ) -> (PhotoRecord, Option<PhotoFailure>) {
        let mut record = base_record(photo, &self.options);
        let settings = rerun::photo_settings_hash(rerun.run_settings(), photo);
        let stamp = match rerun.check(photo, settings) {
            Verdict::Current { entry, refreshed } => {
                entry.facts.apply_to(&mut record);
                rerun.photo_current(entry, refreshed);
                return (record, None);
            }
            Verdict::Redo { stamp } => stamp,
        };
        IN_PHOTO.with(|flag| flag.set(true));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.process(photo, &mut record)
        }));
        IN_PHOTO.with(|flag| flag.set(false));
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err((stage, error))) => Some(PhotoFailure {
                path: photo.input.path.clone(),
                stage,
                error,
            }),
            Err(payload) => Some(PhotoFailure {
                path: photo.input.path.clone(),
                stage: Stage::Decode,
                error: PhotoError::DecoderPanic(decode::panic_message(payload.as_ref())),
            }),
        };
        if let Some(failure) = &failure {
            record.status = Status::Failed;
            record.error = Some(failure.error.to_string());
            record.error_stage = Some(failure.stage);
            // Outputs of a failed photo were either never written or are removed below.
            for output in record.outputs.drain(..) {
                let _ = fs::remove_file(self.options.output_dir.join(&output.path));
            }
        }
        rerun.photo_done(photo, stamp, settings, &record);
        (record, failure)
    }

    /// One photo's trip: read -> decode (shrunk) -> orient -> per derivative: crop+resize -> encode -> write.
    fn process(
        &self,
        photo: &PlannedPhoto,
        record: &mut PhotoRecord,
    ) -> Result<(), (Stage, PhotoError)> {
        let bytes =
            fs::read(&photo.input.path).map_err(|error| (Stage::Read, PhotoError::Io(error)))?;
        if bytes.is_empty() {
            return Err((Stage::Read, PhotoError::Empty));
        }
        record.source_xxh3 = Some(xxhash_rust::xxh3::xxh3_64(&bytes));
        let format = photo
            .input
            .format
            .or_else(|| ImageFormat::sniff(&bytes))
            .ok_or((Stage::Read, PhotoError::NotAnImage))?;
        record.format = Some(format);
        let orientation = photo.exif.orientation;
        let stored_size =
            decode::probe_size(&bytes, format).map_err(|error| (Stage::Decode, error))?;
        let upright = orient::upright_size(stored_size, orientation);
        record.width = Some(upright.0);
        record.height = Some(upright.1);

        let plans: Vec<DerivativePlan> = self
            .options
            .export
            .derivatives
            .iter()
            .enumerate()
            .map(|(index, spec)| {
                let (_, crop_preset) = self.options.derivative_crops[index]
                    .as_ref()
                    .unwrap_or(&self.options.crop);
                DerivativePlan::new(spec, upright, crop_preset)
            })
            .collect();
        let min_scale = plans
            .iter()
            .map(|plan| plan.required_scale())
            .fold(0.0_f64, f64::max)
            .min(1.0);

        // The source's EXIF fields, for the metadata policy to pick from.
        let source_exif: Vec<exif::Field> = exif_info::read_exif(&bytes)
            .exif
            .map(|exif| exif.fields().cloned().collect())
            .unwrap_or_default();
        let decoded = decode::decode(&bytes, format, min_scale, self.options.max_megapixels)
            .map_err(|error| (Stage::Decode, error))?;
        drop(bytes);
        record.warnings.extend(decoded.warnings.iter().cloned());
        let scale = decoded.scale();
        let mut working = orient::to_upright(decoded.image, orientation);
        let mut resizer = fast_image_resize::Resizer::new();

        // Content-aware anchors look at a small copy; center needs none.
        let needs_preview = plans.iter().any(|plan| {
            let preset = plan.crop_preset;
            preset.anchor != Anchor::Center || preset.fallback != Anchor::Center
        });
        let preview = if needs_preview {
            let (width, height) =
                resize::fit_long_edge(working.width(), working.height(), PREVIEW_LONG_EDGE);
            resize::crop_and_resize(
                &mut resizer,
                &working,
                SourceBox::whole(&working),
                width,
                height,
            )
            .map_err(|message| (Stage::Crop, PhotoError::Processing(message)))?
        } else {
            image::RgbImage::new(1, 1)
        };
        let crop_plans: Vec<CropPlan> = plans
            .iter()
            .map(|plan| crop::plan_crop(plan.crop_preset, upright, &preview, &[]))
            .collect();
        for crop_plan in &crop_plans {
            for warning in &crop_plan.warnings {
                if !record.warnings.contains(warning) {
                    record.warnings.push(warning.clone());
                }
            }
            if record.needs_review.is_none() {
                record.needs_review = crop_plan.needs_review.clone();
            }
        }
        record.crop = crop_plans.first().map(CropRecord::from_plan);

        if !self.options.tone.compiled.is_identity() {
            self.options.tone.compiled.apply(&mut working);
        }

        for (index, plan) in plans.iter().enumerate() {
            let crop_plan = &crop_plans[index];
            let rect = crop_plan.rect;
            // Never more pixels than the working image holds for this crop (no upscaling).
            let available = (
                ((rect.width as f64 * scale).floor() as u32).max(1),
                ((rect.height as f64 * scale).floor() as u32).max(1),
            );
            let mut output_size = plan.spec.output_size((rect.width, rect.height));
            if output_size.0 > available.0 || output_size.1 > available.1 {
                output_size = plan.spec.output_size(available);
            }
            let (width, height) = output_size;
            let turned_or_padded =
                crop_plan.rotation_degrees.abs() > 1e-9 || crop_plan.pad.is_some();
            let resized = if turned_or_padded {
                let cropped = crop::apply_crop(&working, crop_plan, scale);
                resize::crop_and_resize(
                    &mut resizer,
                    &cropped,
                    SourceBox::whole(&cropped),
                    width,
                    height,
                )
            } else {
                let source_box = SourceBox {
                    left: rect.x as f64 * scale,
                    top: rect.y as f64 * scale,
                    width: rect.width as f64 * scale,
                    height: rect.height as f64 * scale,
                };
                resize::crop_and_resize(&mut resizer, &working, source_box, width, height)
            };
            let mut resized =
                resized.map_err(|message| (Stage::Resize, PhotoError::Processing(message)))?;
            if self.options.tone.compiled.sharpens() {
                self.options.tone.compiled.sharpen(&mut resized);
            }
            let metadata = self.output_metadata(photo, width, height);
            let segments = metadata::jpeg_segments(
                &metadata,
                Some(&source_exif),
                self.options.metadata_policy,
            )
            .map_err(|error| (Stage::Encode, PhotoError::Processing(error.to_string())))?;
            let jpeg = encode::encode_jpeg(&resized, &plan.spec.jpeg_settings(), &segments)
                .map_err(|message| (Stage::Encode, PhotoError::Processing(message)))?;
            let relative = &photo.output_paths[index];
            let destination = self.options.output_dir.join(relative);
            output::write_atomically(&destination, &jpeg).map_err(|source| {
                (
                    Stage::Write,
                    PhotoError::Write {
                        path: destination.clone(),
                        source,
                    },
                )
            })?;
            record.outputs.push(OutputRecord {
                derivative: plan.spec.name.clone(),
                path: relative.to_string_lossy().replace('\\', "/"),
                width,
                height,
                bytes: jpeg.len() as u64,
                crop: CropRecord::from_plan(crop_plan),
            });
        }
        record.status = Status::Ok;
        Ok(())
    }
}

impl Job {
    /// The metadata this run writes into one derivative of `photo`.
    fn output_metadata(&self, photo: &PlannedPhoto, width: u32, height: u32) -> OutputMetadata {
        let shoot = &self.options.shoot;
        let mut metadata = OutputMetadata::new(width, height);
        metadata.event = shoot.event.clone();
        metadata.creator = shoot.credit.clone();
        metadata.rights = shoot.copyright.clone();
        metadata.keywords.extend(shoot.event.iter().cloned());
        metadata.capture_time = photo.exif.capture_time.as_ref().and_then(|time| {
            let exif_form = format!(
                "{} {}",
                time.local[..10].replace('-', ":"),
                &time.local[11..]
            );
            metadata::CaptureTime::new(&exif_form, time.subsec.as_deref(), time.offset.as_deref())
                .ok()
        });
        metadata
    }
}

/// Long edge of the small copy that content-aware crop anchors look at.
const PREVIEW_LONG_EDGE: u32 = 400;

/// What one derivative needs before decoding: its crop preset and the decode scale it requires.
struct DerivativePlan<'a> {
    spec: &'a DerivativeSpec,
    crop_preset: &'a CropPreset,
    /// Expected crop size in upright source pixels (known before decoding for content anchors).
    expected_crop: (f64, f64),
    output_size: (u32, u32),
}

impl<'a> DerivativePlan<'a> {
    fn new(spec: &'a DerivativeSpec, upright: (u32, u32), crop_preset: &'a CropPreset) -> Self {
        let (ratio_width, ratio_height) = crop_preset.aspect.ratio_for(upright);
        let fit =
            (upright.0 as f64 / ratio_width as f64).min(upright.1 as f64 / ratio_height as f64);
        let zoom = crop_preset.zoom.max(1.0);
        let mut expected_crop = (
            ratio_width as f64 * fit / zoom,
            ratio_height as f64 * fit / zoom,
        );
        if crop_preset.anchor == Anchor::Face {
            // The face decides the size only after decoding: budget for a crop half as large.
            expected_crop = (expected_crop.0 / 2.0, expected_crop.1 / 2.0);
        }
        let output_size = spec.output_size((
            expected_crop.0.round() as u32,
            expected_crop.1.round() as u32,
        ));
        Self {
            spec,
            crop_preset,
            expected_crop,
            output_size,
        }
    }

    /// The decode scale this derivative needs so that it is never made from fewer pixels than it has.
    fn required_scale(&self) -> f64 {
        (self.output_size.0 as f64 / self.expected_crop.0)
            .max(self.output_size.1 as f64 / self.expected_crop.1)
    }
}

fn base_record(photo: &PlannedPhoto, options: &RunOptions) -> PhotoRecord {
    let exif = &photo.exif;
    PhotoRecord {
        source: photo.input.path.display().to_string(),
        status: Status::Failed,
        error: None,
        error_stage: None,
        warnings: photo.exif_warnings.clone(),
        format: photo.input.format,
        width: None,
        height: None,
        orientation: exif.orientation,
        capture_time: exif.capture_time.as_ref().map(|time| time.iso8601()),
        camera: exif.camera(),
        lens: exif.lens.clone(),
        presets: PresetsUsed {
            crop: options.crop.0.clone(),
            tone: options.tone.name.clone(),
            export: options.export_name.clone(),
        },
        crop: None,
        needs_review: None,
        role: crate::names::Role::Portrait,
        person: None,
        assigned_by: None,
        person_seq: None,
        faces: Vec::new(),
        title: None,
        caption: None,
        keywords: Vec::new(),
        exposure: Exposure {
            exposure_time: exif.exposure_time.clone(),
            f_number: exif.f_number,
            iso: exif.iso,
            focal_length: exif.focal_length,
        },
        outputs: Vec::new(),
        source_xxh3: None,
    }
}

/// Fixes every output path in capture order, so names never depend on which worker finishes first.
fn assign_output_paths(photos: &mut [PlannedPhoto], options: &RunOptions) {
    let mut names = NameAllocator::default();
    names.reserve("manifest.json");
    names.reserve("manifest.csv");
    names.reserve("index.html");
    let seq_width = photos.len().to_string().len().max(3);
    for (position, photo) in photos.iter_mut().enumerate() {
        let stem = photo
            .input
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "photo".to_string());
        let date = photo
            .exif
            .capture_time
            .as_ref()
            .map(|time| time.date().to_string());
        let time = photo
            .exif
            .capture_time
            .as_ref()
            .map(|time| time.time_for_filename());
        photo.output_paths = options
            .export
            .derivatives
            .iter()
            .map(|derivative| {
                let values = NameValues {
                    stem: &stem,
                    derivative: &derivative.name,
                    seq: position + 1,
                    seq_width,
                    date: date.as_deref(),
                    time: time.as_deref(),
                    ext: "jpg",
                    ..NameValues::default()
                };
                let template_override = derivative
                    .template
                    .as_deref()
                    .and_then(|text| NameTemplate::parse(text).ok());
                let template = template_override.as_ref().unwrap_or(&options.template);
                let mut path = template.render(&values);
                if !template.uses("derivative")
                    && options.export.derivatives.len() > 1
                    && derivative.template.is_none()
                {
                    // Without {derivative}, every derivative of a photo would claim one name.
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let ext = path
                        .extension()
                        .map(|e| e.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    path = path.with_file_name(format!("{stem}_{}.{ext}", derivative.name));
                }
                names.allocate(path)
            })
            .collect();
    }
}

/// Output folder must not be an input folder (checked in discovery too, for folders not yet created).
pub fn check_output_folder(inputs: &[PathBuf], output_dir: &Path) -> Result<(), ConfigError> {
    for input in inputs {
        if input.is_file() && output_dir.exists() {
            if let (Ok(parent), Ok(output)) = (
                fs::canonicalize(input.parent().unwrap_or(Path::new("."))),
                fs::canonicalize(output_dir),
            ) {
                if parent == output {
                    return Err(ConfigError::Usage(format!(
                        "the output folder {} holds the input {}; choose an output folder outside the shoot",
                        output_dir.display(),
                        input.display()
                    )));
                }
            }
        }
    }
    Ok(())
}
