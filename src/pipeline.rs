//! The batch: plan every photo's work up front, then run photos in parallel, one trip each.
//!
//! `Job::plan` validates everything and fixes output names before any pixel is decoded;
//! `Job::run` decodes each photo once and fans out to its derivatives.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rayon::prelude::*;

use crate::colour;
use crate::crop::{self, Anchor, CropPlan, CropPreset};
use crate::decode;
use crate::discover::{self, ImageFormat, InputFile};
use crate::encode::{self, Embedded};
use crate::error::{ConfigError, PhotoError, PhotoFailure, Stage};
use crate::exif_info::{self, ExifInfo};
use crate::faces::{Face, FaceDetector};
use crate::gallery;
use crate::manifest::{
    CropRecord, Exposure, FaceRecord, IgnoredFile, Manifest, OutputRecord, PhotoRecord,
    PresetsUsed, Settings, StageSeconds, Status, Summary, Timing, MANIFEST_VERSION,
};
use crate::metadata::{self, CropWindow, FaceRegion, MetadataPolicy, OutputMetadata, PixelSize};
use crate::names::{self, NamingConfig, PhotoAssignment, Review, Role, ShootPhoto};
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
    /// Detect faces even when no crop in use needs them (`--faces`), to record them.
    pub detect_faces: bool,
    /// Skip photos whose outputs are still current, or redo all (`--force`).
    pub rerun: RerunPolicy,
    /// Who is in which photo (sheet or slates), captions, `--by-person`, `--sidecars`.
    pub naming: NamingConfig,
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
    /// Who is in the photo and why; a slate gets no derivatives.
    pub assignment: PhotoAssignment,
    /// Where `--sidecars` writes this original's `.xmp` (relative to the output folder).
    pub sidecar_path: Option<PathBuf>,
}

/// A planned batch: photos in capture order, every output name fixed.
#[derive(Debug)]
pub struct Job {
    pub options: RunOptions,
    pub photos: Vec<PlannedPhoto>,
    pub ignored: Vec<(PathBuf, String)>,
    /// Loaded on first use, shared by every worker; the error text if the models fail to load.
    face_detector: OnceLock<Result<FaceDetector, String>>,
    /// Worker time per stage, for the manifest's timing.
    stage_clock: StageClock,
    /// Naming problems to look at; `None` when the run has no names.
    pub review: Option<Review>,
}

/// Nanoseconds per stage, added to by every worker.
#[derive(Debug, Default)]
struct StageClock([AtomicU64; 6]);

#[derive(Debug, Clone, Copy)]
enum TimedStage {
    Decode,
    Analyse,
    Tone,
    Resize,
    Encode,
    Write,
}

impl StageClock {
    /// Adds the time since `*since` to `stage` and restarts `*since`.
    fn lap(&self, stage: TimedStage, since: &mut Instant) {
        let now = Instant::now();
        let nanos = now.duration_since(*since).as_nanos() as u64;
        self.0[stage as usize].fetch_add(nanos, Ordering::Relaxed);
        *since = now;
    }

    fn seconds(&self) -> StageSeconds {
        let read = |stage: TimedStage| self.0[stage as usize].load(Ordering::Relaxed) as f64 / 1e9;
        StageSeconds {
            decode: read(TimedStage::Decode),
            analyse: read(TimedStage::Analyse),
            tone: read(TimedStage::Tone),
            resize: read(TimedStage::Resize),
            encode: read(TimedStage::Encode),
            write: read(TimedStage::Write),
        }
    }
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
    /// Discovers inputs, reads their EXIF, orders them, names them and fixes every output name.
    pub fn plan(options: RunOptions) -> Result<Job, ConfigError> {
        check_output_folder(&options.inputs, &options.output_dir)?;
        let (mut photos, ignored) =
            discover_in_capture_order(&options.inputs, &options.output_dir)?;
        let review = assign_names(&mut photos, &options.naming, options.max_megapixels)?;
        assign_output_paths(&mut photos, &options);
        Ok(Job {
            options,
            photos,
            ignored,
            review,
            face_detector: OnceLock::new(),
            stage_clock: StageClock::default(),
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
            review: self.review.clone(),
            timing: Timing {
                wall_seconds,
                photos_per_second: records.len() as f64 / wall_seconds.max(1e-9),
                jobs,
                stage_seconds: self.stage_clock.seconds(),
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
        if photo.assignment.role == Role::Slate {
            // A slate only names the frames after it.
            record.status = Status::Ok;
            return Ok(());
        }
        let clock = &self.stage_clock;
        let mut since = Instant::now();
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
        let mut decoded = decode::decode(&bytes, format, min_scale, self.options.max_megapixels)
            .map_err(|error| (Stage::Decode, error))?;
        drop(bytes);
        record.warnings.extend(decoded.warnings.iter().cloned());
        let colour_outcome = colour::to_srgb(&mut decoded, &source_exif);
        record.warnings.extend(colour_outcome.warnings);
        let scale = decoded.scale();
        let mut working = orient::to_upright(decoded.image, orientation);
        let mut resizer = fast_image_resize::Resizer::new();
        clock.lap(TimedStage::Decode, &mut since);

        // Content-aware anchors and the face detector look at one small copy; center needs none.
        let needs_faces = self.options.detect_faces
            || self.options.tone.compiled.face_exposure().is_some()
            || plans.iter().any(|plan| plan.crop_preset.uses_faces());
        // A fallback anchor only comes into play after a face anchor, which needs faces anyway.
        let needs_preview = needs_faces
            || plans
                .iter()
                .any(|plan| plan.crop_preset.anchor != Anchor::Center);
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
        // Faces in the preview's pixels (for face exposure) and in upright source pixels.
        let preview_faces = if needs_faces {
            self.detect_faces(&preview, &mut record.warnings)
        } else {
            Vec::new()
        };
        let to_source = upright.0 as f32 / preview.width().max(1) as f32;
        let faces: Vec<Face> = preview_faces
            .iter()
            .map(|face| face.scaled(to_source))
            .collect();
        record.faces = faces.iter().map(FaceRecord::from_face).collect();

        let crop_plans: Vec<CropPlan> = plans
            .iter()
            .map(|plan| crop::plan_crop(plan.crop_preset, upright, &preview, &faces))
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

        clock.lap(TimedStage::Analyse, &mut since);
        let tone = &self.options.tone.compiled;
        let exposure_ev = tone
            .face_exposure()
            .and_then(|_| tone.face_exposure_ev(&preview, &preview_faces));
        if let Some(ev) = exposure_ev {
            record.face_exposure_ev = Some((ev * 100.0).round() / 100.0);
        }
        if !tone.is_identity() || exposure_ev.is_some() {
            tone.apply_with_exposure(&mut working, exposure_ev.unwrap_or(0.0));
        }
        clock.lap(TimedStage::Tone, &mut since);

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
            clock.lap(TimedStage::Resize, &mut since);
            let metadata = self.output_metadata(
                photo,
                &record.faces,
                &crop_window(crop_plan),
                PixelSize { width, height },
            );
            let blocks = metadata::metadata_blocks(
                &metadata,
                Some(&source_exif),
                self.options.metadata_policy,
            )
            .map_err(|error| (Stage::Encode, PhotoError::Processing(error.to_string())))?;
            // Pixels are sRGB from here (colour::to_srgb); say so in the file.
            let embedded = Embedded {
                blocks: &blocks,
                icc_profile: colour::srgb_icc(),
            };
            let encoded = encode::encode_within(
                &resized,
                &plan.spec.encode_settings(),
                embedded,
                plan.spec.max_bytes,
                plan.spec.min_quality,
            )
            .map_err(|message| (Stage::Encode, PhotoError::Processing(message)))?;
            if !encoded.within_budget {
                let over = format!(
                    "{}: {} bytes at min_quality {} is still over max_bytes = {}",
                    plan.spec.name,
                    encoded.bytes.len(),
                    encoded.quality,
                    plan.spec.max_bytes.unwrap_or_default()
                );
                // An upload would be refused: list it with the photos to look at.
                record.needs_review.get_or_insert_with(|| over.clone());
                record.warnings.push(over);
            }
            clock.lap(TimedStage::Encode, &mut since);
            let relative = &photo.output_paths[index];
            let destination = self.options.output_dir.join(relative);
            output::write_atomically(&destination, &encoded.bytes).map_err(|source| {
                (
                    Stage::Write,
                    PhotoError::Write {
                        path: destination.clone(),
                        source,
                    },
                )
            })?;
            clock.lap(TimedStage::Write, &mut since);
            record.outputs.push(OutputRecord {
                derivative: plan.spec.name.clone(),
                path: relative.to_string_lossy().replace('\\', "/"),
                width,
                height,
                bytes: encoded.bytes.len() as u64,
                format: plan.spec.format,
                quality: encoded.quality,
                crop: CropRecord::from_plan(crop_plan),
            });
        }
        if let Some(sidecar) = &photo.sidecar_path {
            self.write_sidecar(photo, &record.faces, upright, sidecar)?;
        }
        record.status = Status::Ok;
        Ok(())
    }
}

impl Job {
    /// Faces in `preview`'s own pixels, largest first; a detector failure becomes a warning.
    fn detect_faces(&self, preview: &image::RgbImage, warnings: &mut Vec<String>) -> Vec<Face> {
        let detector = self
            .face_detector
            .get_or_init(|| FaceDetector::new().map_err(|error| error.to_string()));
        let outcome = match detector {
            Ok(detector) => detector.detect(preview).map_err(|error| error.to_string()),
            Err(message) => Err(message.clone()),
        };
        outcome.unwrap_or_else(|message| {
            warnings.push(format!("face detection failed: {message}"));
            Vec::new()
        })
    }

    /// The metadata this run writes into one derivative of `photo`, cut from `window` and
    /// `size` pixels large: the person's name, caption and keywords, the shoot's credit, and the
    /// `faces` (upright source pixels) as regions in the derivative's frame.
    fn output_metadata(
        &self,
        photo: &PlannedPhoto,
        faces: &[FaceRecord],
        window: &CropWindow,
        size: PixelSize,
    ) -> OutputMetadata {
        let shoot = &self.options.shoot;
        let person = photo.assignment.person.as_ref();
        let name = person.map(|person| person.name.clone());
        let mut metadata = OutputMetadata::new(size.width, size.height);
        metadata.event = shoot.event.clone();
        metadata.creator = shoot.credit.clone();
        metadata.rights = shoot.copyright.clone();
        metadata.title = name.clone();
        metadata.persons_in_image.extend(name.clone());
        metadata.caption = self
            .options
            .naming
            .caption
            .as_ref()
            .and_then(|caption| caption.render(person, shoot.event.as_deref()));
        metadata.keywords = names::keywords(person, shoot.event.as_deref());
        // A headshot's person is its largest face; other faces get unnamed regions.
        let subject = faces
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| (a.bbox[2] * a.bbox[3]).total_cmp(&(b.bbox[2] * b.bbox[3])))
            .map(|(index, _)| index);
        metadata.face_regions = faces
            .iter()
            .enumerate()
            .filter_map(|(index, face)| {
                let region_name = name.clone().filter(|_| Some(index) == subject);
                FaceRegion::from_source_box(region_name, face.bbox, window, size)
            })
            .collect();
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

    /// The `.xmp` sidecar of an original: the same fields as its derivatives, in its own frame.
    fn write_sidecar(
        &self,
        photo: &PlannedPhoto,
        faces: &[FaceRecord],
        upright: (u32, u32),
        relative: &Path,
    ) -> Result<(), (Stage, PhotoError)> {
        let size = PixelSize {
            width: upright.0,
            height: upright.1,
        };
        let metadata = self.output_metadata(photo, faces, &CropWindow::whole(upright), size);
        let destination = self.options.output_dir.join(relative);
        output::write_atomically(&destination, metadata::xmp_sidecar(&metadata).as_bytes()).map_err(
            |source| {
                (
                    Stage::Write,
                    PhotoError::Write {
                        path: destination.clone(),
                        source,
                    },
                )
            },
        )
    }
}

/// The window a derivative is cut from, for mapping faces into its frame.
fn crop_window(plan: &CropPlan) -> CropWindow {
    CropWindow {
        rect: [
            plan.rect.x as f64,
            plan.rect.y as f64,
            f64::from(plan.rect.width),
            f64::from(plan.rect.height),
        ],
        rotation_degrees: plan.rotation_degrees,
        upright_size: plan.upright_size,
    }
}

/// Long edge of the small copy that content-aware crop anchors look at.
pub(crate) const PREVIEW_LONG_EDGE: u32 = 512;

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
        role: photo.assignment.role,
        person: photo.assignment.person.clone(),
        assigned_by: photo.assignment.assigned_by.clone(),
        person_seq: photo.assignment.person_seq,
        faces: Vec::new(),
        face_exposure_ev: None,
        // The same title, caption and keywords `output_metadata` writes into the files.
        title: photo
            .assignment
            .person
            .as_ref()
            .map(|person| person.name.clone()),
        caption: options.naming.caption.as_ref().and_then(|caption| {
            caption.render(
                photo.assignment.person.as_ref(),
                options.shoot.event.as_deref(),
            )
        }),
        keywords: names::keywords(
            photo.assignment.person.as_ref(),
            options.shoot.event.as_deref(),
        ),
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

/// A file passed over in an input folder, with the reason.
pub type IgnoredPath = (PathBuf, String);

/// Finds the photos under `inputs` (skipping `output_dir`), reads their EXIF and puts them in
/// capture order, then path: photos without a capture time go last, by path.
pub fn discover_in_capture_order(
    inputs: &[PathBuf],
    output_dir: &Path,
) -> Result<(Vec<PlannedPhoto>, Vec<IgnoredPath>), ConfigError> {
    let discovery = discover::discover(inputs, output_dir)?;
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
                    assignment: PhotoAssignment::default(),
                    sidecar_path: None,
                },
                Err(_) => PlannedPhoto {
                    input,
                    exif: ExifInfo {
                        orientation: 1,
                        ..ExifInfo::default()
                    },
                    exif_warnings: Vec::new(),
                    output_paths: Vec::new(),
                    assignment: PhotoAssignment::default(),
                    sidecar_path: None,
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
    Ok((photos, discovery.ignored))
}

/// Gives each photo (in capture order) its person; slates are read here, before any
/// derivative. Sheet rows that cannot be matched unambiguously stop the run.
pub fn assign_names(
    photos: &mut [PlannedPhoto],
    naming: &NamingConfig,
    max_megapixels: u64,
) -> Result<Option<Review>, ConfigError> {
    let Some(source) = &naming.source else {
        return Ok(None);
    };
    let shoot: Vec<ShootPhoto<'_>> = photos
        .iter()
        .map(|photo| ShootPhoto {
            path: &photo.input.path,
            relative: &photo.input.relative,
            capture_time: photo.exif.capture_time.as_ref(),
            format: photo.input.format,
            orientation: photo.exif.orientation,
        })
        .collect();
    let assignments = names::assign_shoot(source, &shoot, &naming.assign, max_megapixels)
        .map_err(|error| ConfigError::Usage(error.to_string()))?;
    for (photo, assignment) in photos.iter_mut().zip(assignments.photos) {
        photo.assignment = assignment;
    }
    Ok(Some(assignments.review))
}

/// The folder `--sidecars` mirrors the shoot in, inside the output folder.
pub const SIDECAR_FOLDER: &str = "sidecars";

/// Fixes every output path in capture order, so names never depend on which worker finishes first.
fn assign_output_paths(photos: &mut [PlannedPhoto], options: &RunOptions) {
    let mut names = NameAllocator::default();
    names.reserve("manifest.json");
    names.reserve("manifest.csv");
    names.reserve("index.html");
    let mut sidecar_names = NameAllocator::default();
    let columns = options
        .naming
        .source
        .as_ref()
        .map(names::NamesFrom::columns)
        .unwrap_or_default();
    let seq_width = photos.len().to_string().len().max(3);
    for (position, photo) in photos.iter_mut().enumerate() {
        if photo.assignment.role == Role::Slate {
            continue;
        }
        if options.naming.sidecars {
            // Lightroom's convention: `IMG_0001.xmp` beside `IMG_0001.CR2` and `IMG_0001.jpg`.
            let wanted = Path::new(SIDECAR_FOLDER)
                .join(&photo.input.relative)
                .with_extension("xmp");
            photo.sidecar_path = Some(sidecar_names.allocate(wanted));
        }
        let person = photo.assignment.person.as_ref();
        let folder = options
            .naming
            .by_person
            .then(|| names::person_folder(person));
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
                    event: options.shoot.event.as_deref(),
                    name: person.map(|person| person.name.as_str()),
                    person_seq: photo.assignment.person_seq,
                    columns: person.map(|person| person.extra.as_slice()).unwrap_or(&[]),
                    ext: derivative.format.extension(),
                };
                let template_override = derivative
                    .template
                    .as_deref()
                    .and_then(|text| NameTemplate::parse_with_columns(text, &columns).ok());
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
                if let Some(folder) = &folder {
                    path = Path::new(folder).join(path);
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
