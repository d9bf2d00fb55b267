//! The batch in three passes (see ARCHITECTURE.md):
//!
//! 1. **Analyse and render**, in parallel, per photo, one decode: what the photo shows
//!    (`analyse`) and its staged derivatives (`render`), both reused from earlier runs when
//!    their inputs are unchanged.
//! 2. **Decide**, once, over the whole shoot: names, file names, metadata, review (`decide`).
//! 3. **Finish**, in parallel: staged derivatives under their final names with their metadata
//!    (`finish`), then the manifest, the CSV and the review page.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::analyse::{self, Analysers, AnalysisCache, AnalysisNeeds, PhotoAnalysis};
use crate::clocks::ShootClocks;
use crate::decide::{self, PhotoFacts, PhotoPlan};
use crate::decode;
use crate::develop::{self, Developed};
use crate::discover::ImageFormat;
use crate::error::{ConfigError, PhotoError, PhotoFailure, Stage};
use crate::finish;
use crate::gallery;
use crate::manifest::{
    Exposure, FaceRecord, IgnoredFile, Manifest, PhotoRecord, PresetsUsed, Settings, Status,
    Summary, Timing, WorkCounts, MANIFEST_VERSION,
};
use crate::names::overrides::{self, PhotoCorrection, ShootCorrections};
use crate::names::{PhotoRef, Review};
use crate::output;
use crate::plan::{self, PlannedPhoto, RunOptions};
use crate::render::{self, RenderInput, Rendered};
use crate::rerun::{self, FinishedOutput, RerunPolicy, RerunState, SourceStamp};
use crate::timing::{StageClock, TimedStage};

pub use crate::decide::SIDECAR_FOLDER;
pub use crate::develop::PREVIEW_LONG_EDGE;
pub use crate::plan::{discover_in_capture_order, IgnoredPath, ShootInfo};

/// A planned batch: photos in capture order, settings validated.
#[derive(Debug)]
pub struct Job {
    pub options: RunOptions,
    pub photos: Vec<PlannedPhoto>,
    pub ignored: Vec<IgnoredPath>,
    /// `OUT/corrections.csv` matched to the photos (same order), read when the job is planned.
    pub corrections: ShootCorrections,
    analysers: Analysers,
    clock: StageClock,
    decodes: AtomicU64,
    renders: AtomicU64,
    outputs_finished: AtomicU64,
    /// Fingerprint of what the tone preset does, computed once.
    tone_fingerprint: u64,
}

/// What the first pass made of one photo.
#[derive(Debug, Default)]
pub struct PhotoOutcome {
    pub stamp: Option<SourceStamp>,
    pub xxh3: Option<u64>,
    pub format: Option<ImageFormat>,
    pub analysis: Option<PhotoAnalysis>,
    /// `None` for a slate (or a failure). Shared with the re-run state's record of it.
    pub rendered: Option<Arc<Rendered>>,
    /// During the first pass: `rendered` is in the re-run journal, not in memory, until the
    /// pass is over ([`RerunState::rendered`]).
    pub render_journalled: bool,
    /// Decoder and colour warnings of this run's decode.
    pub warnings: Vec<String>,
    /// Whether this run decoded the photo.
    pub decoded: bool,
    pub failure: Option<PhotoFailure>,
}

/// A photo decoded and analysed, ready to render.
struct Analysed {
    xxh3: u64,
    format: ImageFormat,
    developed: Developed,
    preview: image::RgbImage,
    analysis: PhotoAnalysis,
}

/// What the run reports as it goes (called from worker threads).
pub enum Progress<'a> {
    /// A photo's first pass is done (analysed and rendered, or failed).
    Rendered {
        source: &'a Path,
        failure: Option<&'a PhotoFailure>,
    },
    /// A photo's outputs are written; its manifest record is final. `failure` is set when the
    /// finish pass failed it (a failure of the first pass was reported then).
    Finished {
        record: &'a PhotoRecord,
        failure: Option<&'a PhotoFailure>,
    },
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

/// Runs `work` with panics caught and reported as a decoder crash of `path`.
fn guarded<T>(
    path: &Path,
    work: impl FnOnce() -> Result<T, (Stage, PhotoError)>,
) -> Result<T, PhotoFailure> {
    IN_PHOTO.with(|flag| flag.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    IN_PHOTO.with(|flag| flag.set(false));
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err((stage, error))) => Err(PhotoFailure {
            path: path.to_path_buf(),
            stage,
            error,
        }),
        Err(payload) => Err(PhotoFailure {
            path: path.to_path_buf(),
            stage: Stage::Decode,
            error: PhotoError::DecoderPanic(decode::panic_message(payload.as_ref())),
        }),
    }
}

impl Job {
    /// Discovers inputs, reads their EXIF and orders them; nothing is decoded.
    pub fn plan(options: RunOptions) -> Result<Job, ConfigError> {
        plan::check_output_folder(&options.inputs, &options.output_dir)?;
        let (mut photos, mut ignored) =
            plan::discover_in_capture_order(&options.inputs, &options.output_dir)?;
        let settings_files = options.settings_files();
        let is_settings =
            |path: &Path| fs::canonicalize(path).is_ok_and(|path| settings_files.contains(&path));
        ignored.retain(|(path, _)| !is_settings(path.as_path()));
        photos.retain(|photo| !is_settings(photo.input.path.as_path()));
        decide::check_sheet(&photos, &options)?;
        let corrections = shoot_corrections(&photos, &options)?;
        let tone_fingerprint = options.tone.fingerprint();
        Ok(Job {
            options,
            photos,
            ignored,
            corrections,
            analysers: Analysers::default(),
            clock: StageClock::default(),
            decodes: AtomicU64::new(0),
            renders: AtomicU64::new(0),
            outputs_finished: AtomicU64::new(0),
            tone_fingerprint,
        })
    }

    /// Reads `OUT/corrections.csv` again (a desk appended to it), for the next [`Job::run`].
    pub fn reload_corrections(&mut self) -> Result<(), ConfigError> {
        self.corrections = shoot_corrections(&self.photos, &self.options)?;
        Ok(())
    }

    /// What every photo's analysis must hold for this run.
    pub fn analysis_needs(&self) -> AnalysisNeeds {
        let mut crops: Vec<(String, crate::crop::CropPreset)> = Vec::new();
        let mut crop_users: Vec<String> = Vec::new();
        let derivatives = self.options.export.derivatives.iter();
        for (spec, (_, preset)) in derivatives.zip(self.options.crop_presets()) {
            let key = analyse::crop_key(preset);
            match crops.iter().position(|(known, _)| known == &key) {
                Some(index) => crop_users[index] = format!("{}, {}", crop_users[index], spec.name),
                None => {
                    crops.push((key, preset.clone()));
                    crop_users.push(spec.name.clone());
                }
            }
        }
        AnalysisNeeds {
            crop_users,
            faces: self.options.needs_faces(),
            identity: self.options.needs_identity(),
            slates: self.reads_codes(),
            crops,
        }
    }

    /// Whether every photo is read for a QR code: for name slates, and for clock slates where
    /// clock offsets matter (a `time` sheet, or several cameras to put in one order).
    fn reads_codes(&self) -> bool {
        let time_sheet = matches!(
            &self.options.naming.source,
            Some(crate::names::NamesFrom::Sheet(sheet)) if sheet.layout == crate::names::Layout::Time
        );
        let mut cameras = self.photos.iter().map(PlannedPhoto::camera_id);
        let first = cameras.next();
        self.options.reads_slates() || time_sheet || cameras.any(|camera| Some(camera) != first)
    }

    /// Runs the three passes and writes the manifest, the CSV and the review page.
    pub fn run(&self, progress: &(dyn Fn(Progress<'_>) + Sync)) -> Result<RunReport, ConfigError> {
        let never = AtomicBool::new(false);
        self.run_until(progress, &never)?
            .ok_or_else(|| ConfigError::Usage("the run was interrupted".to_string()))
    }

    /// [`Job::run`], stopping early once `stop` is set (Ctrl-C in `serve`): photos in flight
    /// finish their first pass, no new one starts, and `None` is returned without deciding or
    /// finishing. The journal keeps every render done, so the next run goes on from there.
    pub fn run_until(
        &self,
        progress: &(dyn Fn(Progress<'_>) + Sync),
        stop: &AtomicBool,
    ) -> Result<Option<RunReport>, ConfigError> {
        let started = Instant::now();
        let output_dir = &self.options.output_dir;
        fs::create_dir_all(output_dir).map_err(|source| ConfigError::Io {
            path: output_dir.clone(),
            source,
        })?;
        output::remove_stale_temp_files(output_dir);
        let state_error = |source| ConfigError::Io {
            path: output_dir.join(rerun::STATE_FILE),
            source,
        };
        let state = RerunState::open(output_dir, self.options.rerun).map_err(state_error)?;
        let jobs = self
            .options
            .jobs
            .unwrap_or_else(rayon::current_num_threads)
            .max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|error| ConfigError::Usage(format!("cannot start {jobs} workers: {error}")))?;
        let mut cache = match self.options.rerun {
            RerunPolicy::SkipCurrent => AnalysisCache::in_output(output_dir),
            RerunPolicy::RedoAll => AnalysisCache::in_output(output_dir).refreshing(),
        };
        if !self.options.biometrics {
            cache = cache.without_biometrics();
            cache.remove_biometrics();
        }
        let needs = self.analysis_needs();
        let corrections = &self.corrections.per_photo;
        let outcomes: Vec<Option<PhotoOutcome>> = pool.install(|| {
            self.photos
                .par_iter()
                .zip(corrections)
                .map(|(photo, correction)| {
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    let correction = correction.as_ref();
                    let outcome = self.first_pass(photo, correction, &state, &cache, &needs);
                    progress(Progress::Rendered {
                        source: &photo.input.path,
                        failure: outcome.failure.as_ref(),
                    });
                    Some(outcome)
                })
                .collect()
        });
        let Some(mut outcomes) = outcomes.into_iter().collect::<Option<Vec<PhotoOutcome>>>() else {
            return Ok(None);
        };
        pool.broadcast(|_| crate::pixel_pool::release_spares());
        restore_renders(&self.photos, &mut outcomes, &state);

        let mut since = Instant::now();
        let references = pool.install(|| self.reference_faces(&cache));
        self.clock.lap(TimedStage::Analyse, &mut since);
        let (clocks, order) = self.decide_clocks(&outcomes);
        let photos: Vec<&PlannedPhoto> = order.iter().map(|&index| &self.photos[index]).collect();
        let corrections: Vec<Option<&PhotoCorrection>> = order
            .iter()
            .map(|&index| corrections[index].as_ref())
            .collect();
        let outcomes: Vec<PhotoOutcome> = order
            .iter()
            .map(|&index| std::mem::take(&mut outcomes[index]))
            .collect();
        let facts = facts_of(&photos, &outcomes, &corrections, &clocks);
        let mut decision = decide::decide_with_references(&facts, &references, &self.options)?;
        if !self.corrections.warnings.is_empty() {
            let review = decision.review.get_or_insert_with(Review::default);
            review
                .warnings
                .extend(self.corrections.warnings.iter().cloned());
        }
        self.clock.lap(TimedStage::Decide, &mut since);

        let finished: Vec<(PhotoRecord, Option<PhotoFailure>)> = pool.install(|| {
            photos
                .par_iter()
                .zip(outcomes.into_par_iter())
                .zip(decision.plans.into_par_iter())
                .map(|((photo, outcome), plan)| {
                    let failed_before = outcome.failure.is_some();
                    let mut result = self.finish_photo(photo, outcome, &plan, &state);
                    result
                        .0
                        .warnings
                        .extend(clocks.warnings_for(&photo.input.path));
                    progress(Progress::Finished {
                        record: &result.0,
                        failure: result.1.as_ref().filter(|_| !failed_before),
                    });
                    result
                })
                .collect()
        });
        let (records, failures): (Vec<PhotoRecord>, Vec<Option<PhotoFailure>>) =
            finished.into_iter().unzip();
        let failures: Vec<PhotoFailure> = failures.into_iter().flatten().collect();
        let sources: Vec<PathBuf> = self.photos.iter().map(|p| p.input.path.clone()).collect();
        let removed_outputs = state.finish(&sources).map_err(state_error)?;
        let reference_hashes = references.iter().filter_map(|reference| reference.xxh3);
        let kept_hashes = records
            .iter()
            .filter_map(|r| r.source_xxh3)
            .chain(reference_hashes)
            .collect();
        cache.retain(&kept_hashes);
        let mut manifest = self.manifest(records, removed_outputs, decision.review, started, jobs);
        manifest.cameras = clocks.cameras;
        write_run_files(&manifest, output_dir)?;
        Ok(Some(RunReport { manifest, failures }))
    }

    /// The roster's reference photos, described (from `cache` when it has them), when names
    /// are checked against faces.
    fn reference_faces(&self, cache: &AnalysisCache) -> Vec<analyse::ReferenceFace> {
        let Some(crate::names::NamesFrom::Slates {
            roster: Some(roster),
        }) = &self.options.naming.source
        else {
            return Vec::new();
        };
        if !self.options.needs_identity() {
            return Vec::new();
        }
        analyse::describe_references(&self.analysers, cache, roster, self.options.max_megapixels)
    }

    /// Each camera's clock (from the analyses' clock slates and the settings) and the shoot's
    /// capture order on the corrected clocks, as indexes into `self.photos`.
    fn decide_clocks(&self, outcomes: &[PhotoOutcome]) -> (ShootClocks, Vec<usize>) {
        let photos: Vec<&PlannedPhoto> = self.photos.iter().collect();
        let corrections: Vec<Option<&PhotoCorrection>> = self
            .corrections
            .per_photo
            .iter()
            .map(Option::as_ref)
            .collect();
        let facts = facts_of(&photos, outcomes, &corrections, &ShootClocks::default());
        let clocks = ShootClocks::decide(&facts, &self.options);
        let order = clocks.capture_order(&facts);
        (clocks, order)
    }

    /// Whether a photo renders nothing: a name slate (when slates name the shoot) or a clock
    /// slate; a correction decides over both (a reject renders nothing, a named frame renders).
    fn renders_nothing(
        &self,
        analysis: &PhotoAnalysis,
        correction: Option<&PhotoCorrection>,
    ) -> bool {
        match correction {
            Some(correction) => correction.renders_nothing(),
            None => {
                (self.options.reads_slates() && analysis.slate().is_some())
                    || analysis.clock_reading().is_some()
            }
        }
    }

    /// Pass 1 for one photo: analysis and staged derivatives, from the caches or one decode.
    fn first_pass(
        &self,
        photo: &PlannedPhoto,
        correction: Option<&PhotoCorrection>,
        state: &RerunState,
        cache: &AnalysisCache,
        needs: &AnalysisNeeds,
    ) -> PhotoOutcome {
        let path = &photo.input.path;
        let stamp = SourceStamp::of(path).ok();
        let known = stamp.and_then(|stamp| state.known_hash(path, stamp));
        let reuse = |xxh3| self.reuse((photo, correction), stamp, xxh3, state, cache, needs);
        if let Some(outcome) = known.and_then(&reuse) {
            return outcome;
        }
        let mut outcome = PhotoOutcome {
            stamp,
            format: photo.input.format,
            ..PhotoOutcome::default()
        };
        let result = guarded(path, || {
            let source = develop::read_source(path, photo.input.format, photo.exif.orientation)?;
            if known.is_none() {
                // Touched or copied back: the same bytes may still be current.
                if let Some(reused) = reuse(source.xxh3) {
                    return Ok(Some(reused));
                }
            }
            let photo = (photo, correction);
            self.analyse_and_render(photo, source, &mut outcome, state, cache, needs)?;
            Ok(None)
        });
        crate::pixel_pool::photo_done();
        match result {
            Ok(Some(reused)) => return reused,
            Ok(None) => {
                if let (Some(stamp), Some(xxh3)) = (stamp, outcome.xxh3) {
                    journal_render(state, path, (stamp, xxh3), &mut outcome);
                }
            }
            Err(failure) => {
                outcome.rendered = None;
                outcome.failure = Some(failure);
            }
        }
        outcome
    }

    /// The photo's analysis and render from earlier runs, when its bytes (content hash
    /// `xxh3`) and every setting that shapes its pixels are unchanged: no decode.
    fn reuse(
        &self,
        (photo, correction): (&PlannedPhoto, Option<&PhotoCorrection>),
        stamp: Option<SourceStamp>,
        xxh3: u64,
        state: &RerunState,
        cache: &AnalysisCache,
        needs: &AnalysisNeeds,
    ) -> Option<PhotoOutcome> {
        let path = &photo.input.path;
        let analysis = cache.load(xxh3).filter(|a| a.satisfies(needs))?;
        let rendered = if self.renders_nothing(&analysis, correction) {
            None
        } else {
            let key = render::render_key(&self.options, self.tone_fingerprint, xxh3);
            Some(state.reusable_render(path, &key)?)
        };
        let mut outcome = PhotoOutcome {
            stamp,
            xxh3: Some(xxh3),
            format: photo.input.format,
            analysis: Some(analysis.without_crop_plans()),
            rendered,
            ..PhotoOutcome::default()
        };
        if let Some(stamp) = stamp {
            journal_render(state, path, (stamp, xxh3), &mut outcome);
        }
        Some(outcome)
    }

    /// Reads and decodes the photo once, completes its analysis and renders its derivatives.
    fn analyse_and_render(
        &self,
        (photo, correction): (&PlannedPhoto, Option<&PhotoCorrection>),
        source: develop::SourceFile,
        outcome: &mut PhotoOutcome,
        state: &RerunState,
        cache: &AnalysisCache,
        needs: &AnalysisNeeds,
    ) -> Result<(), (Stage, PhotoError)> {
        let mut resizer = fast_image_resize::Resizer::new();
        let analysed = self.decode_and_analyse(photo, source, cache, needs, &mut resizer)?;
        outcome.xxh3 = Some(analysed.xxh3);
        outcome.format = Some(analysed.format);
        outcome.decoded = true;
        outcome.warnings = analysed.developed.warnings.clone();
        let renders_nothing = self.renders_nothing(&analysed.analysis, correction);
        let Analysed {
            xxh3,
            developed,
            preview,
            analysis,
            ..
        } = analysed;
        if renders_nothing {
            // A slate only names the frames after it; a reject has no outputs.
            outcome.analysis = Some(analysis.without_crop_plans());
            return Ok(());
        }
        let key = render::render_key(&self.options, self.tone_fingerprint, xxh3);
        outcome.rendered = match state.reusable_render(&photo.input.path, &key) {
            Some(rendered) => Some(rendered),
            None => {
                let rendered = self.render(&developed, &preview, &analysis, &key, &mut resizer)?;
                self.renders.fetch_add(1, Ordering::Relaxed);
                Some(Arc::new(rendered))
            }
        };
        outcome.analysis = Some(analysis.without_crop_plans());
        Ok(())
    }

    /// Reads and decodes the photo once (at the scale its outputs need) and completes its
    /// analysis from the cache and the analysers `needs` asks for.
    fn decode_and_analyse(
        &self,
        photo: &PlannedPhoto,
        source: develop::SourceFile,
        cache: &AnalysisCache,
        needs: &AnalysisNeeds,
        resizer: &mut fast_image_resize::Resizer,
    ) -> Result<Analysed, (Stage, PhotoError)> {
        let mut since = Instant::now();
        let orientation = photo.exif.orientation;
        let (xxh3, format, upright) = (source.xxh3, source.format, source.upright_size);
        let cached = cache.load(xxh3);
        let mut analysis = cached.clone().unwrap_or_else(|| PhotoAnalysis {
            upright_size: upright,
            ..PhotoAnalysis::default()
        });
        self.analysers.load_ahead(needs, &analysis);
        let scale = render::decode_scale(&self.options, upright);
        let developed = develop::develop(source, orientation, scale, self.options.max_megapixels)?;
        self.decodes.fetch_add(1, Ordering::Relaxed);
        self.clock.lap(TimedStage::Decode, &mut since);
        let preview = self.preview_if_needed(&developed, &analysis, needs, resizer)?;
        self.analysers
            .complete(&mut analysis, needs, &developed.working, &preview);
        if cached.as_ref() != Some(&analysis) {
            cache.store(xxh3, &analysis);
        }
        self.clock.lap(TimedStage::Analyse, &mut since);
        Ok(Analysed {
            xxh3,
            format,
            developed,
            preview,
            analysis,
        })
    }

    /// The small copy analysers and the tone's measurements look at, when anything does.
    fn preview_if_needed(
        &self,
        developed: &Developed,
        analysis: &PhotoAnalysis,
        needs: &AnalysisNeeds,
        resizer: &mut fast_image_resize::Resizer,
    ) -> Result<image::RgbImage, (Stage, PhotoError)> {
        let tone = &self.options.tone.compiled;
        let wanted = needs.look_at_preview(analysis)
            || tone.measures_white_balance()
            || tone.face_exposure().is_some();
        if wanted {
            developed.preview(resizer)
        } else {
            Ok(image::RgbImage::new(1, 1))
        }
    }

    /// Pass 1's render of one photo, graded as one: white balance and face exposure measured on
    /// the whole frame's preview, then applied to each derivative.
    fn render(
        &self,
        developed: &Developed,
        preview: &image::RgbImage,
        analysis: &PhotoAnalysis,
        key: &str,
        resizer: &mut fast_image_resize::Resizer,
    ) -> Result<Rendered, (Stage, PhotoError)> {
        let tone = &self.options.tone.compiled;
        let to_preview = preview.width() as f32 / analysis.upright_size.0.max(1) as f32;
        let preview_faces: Vec<_> = analysis
            .faces()
            .iter()
            .map(|face| face.scaled(to_preview))
            .collect();
        let face_exposure_ev = tone
            .face_exposure()
            .and_then(|_| tone.face_exposure_ev(preview, &preview_faces));
        let grade = tone.for_photo(preview, face_exposure_ev.unwrap_or(0.0));
        let input = RenderInput {
            working: &developed.working,
            scale: developed.scale,
            analysis,
            grade: &grade,
            face_exposure_ev,
            clock: &self.clock,
        };
        render::render(&input, &self.options, key, resizer)
    }
}

impl Job {
    /// Pass 3 for one photo: its outputs written (or found current), its manifest record.
    fn finish_photo(
        &self,
        photo: &PlannedPhoto,
        outcome: PhotoOutcome,
        plan: &PhotoPlan,
        state: &RerunState,
    ) -> (PhotoRecord, Option<PhotoFailure>) {
        let mut since = Instant::now();
        let mut record = self.base_record(photo, &outcome, plan);
        if let Some(failure) = outcome.failure {
            record.status = Status::Failed;
            record.error = Some(failure.error.to_string());
            record.error_stage = Some(failure.stage);
            return (record, Some(failure));
        }
        let written = match guarded(&photo.input.path, || {
            self.write_outputs(photo, &outcome, plan, state, &mut record)
        }) {
            Ok(written) => written,
            Err(failure) => {
                record.status = Status::Failed;
                record.error = Some(failure.error.to_string());
                record.error_stage = Some(failure.stage);
                for output in record.outputs.drain(..) {
                    let _ = fs::remove_file(self.options.output_dir.join(&output.path));
                }
                return (record, Some(failure));
            }
        };
        record.status = if outcome.decoded || written > 0 {
            Status::Ok
        } else {
            Status::Skipped
        };
        self.clock.lap(TimedStage::Finish, &mut since);
        (record, None)
    }

    /// Writes the outputs of one photo that are not current; returns how many it wrote.
    fn write_outputs(
        &self,
        photo: &PlannedPhoto,
        outcome: &PhotoOutcome,
        plan: &PhotoPlan,
        state: &RerunState,
        record: &mut PhotoRecord,
    ) -> Result<usize, (Stage, PhotoError)> {
        let Some(rendered) = &outcome.rendered else {
            return Ok(0);
        };
        let policy = self.options.metadata_policy;
        let output_dir = &self.options.output_dir;
        let mut source_exif = None;
        let mut finished = Vec::new();
        let mut written = 0;
        let source = (photo, outcome.analysis.as_ref());
        for (index, output) in plan.outputs.iter().enumerate() {
            let metadata = decide::output_metadata(source, plan, &self.options, &output.staged);
            let key = finish::finish_key(&rendered.key, output, &metadata, policy);
            let relative = finish::relative_text(&output.path);
            let done = match state.current_output(&photo.input.path, &relative, &key) {
                Some(done) => done,
                None => {
                    let exif = source_exif
                        .get_or_insert_with(|| finish::source_exif(&photo.input.path, policy));
                    let bytes = finish::write_output(output, &metadata, exif, policy, output_dir)?;
                    written += 1;
                    self.outputs_finished.fetch_add(1, Ordering::Relaxed);
                    FinishedOutput {
                        path: relative,
                        bytes,
                        key,
                    }
                }
            };
            let max_bytes = self.options.export.derivatives[index].max_bytes;
            if let Some(max) = max_bytes.filter(|max| done.bytes > *max) {
                let over = format!(
                    "{}: {} bytes at min_quality {} is still over max_bytes = {max}",
                    output.staged.derivative, done.bytes, output.staged.quality
                );
                // An upload would be refused: list it with the photos to look at.
                record.needs_review.get_or_insert_with(|| over.clone());
                record.warnings.push(over);
            }
            record.outputs.push(finish::output_record(output, &done));
            finished.push(done);
        }
        let sidecar_missing = plan
            .sidecar
            .as_ref()
            .is_some_and(|(path, _)| !output_dir.join(path).is_file());
        if written > 0 || sidecar_missing {
            finish::write_sidecar(plan, output_dir)?;
        }
        state.finished(&photo.input.path, finished);
        Ok(written)
    }

    /// A photo's manifest record from its plan, what the first pass found, and the decisions.
    fn base_record(
        &self,
        photo: &PlannedPhoto,
        outcome: &PhotoOutcome,
        plan: &PhotoPlan,
    ) -> PhotoRecord {
        let exif = &photo.exif;
        let options = &self.options;
        let analysis = outcome.analysis.as_ref();
        let rendered = outcome.rendered.as_deref();
        let mut warnings = photo.exif_warnings.clone();
        warnings.extend(outcome.warnings.iter().cloned());
        for warning in analysis
            .map(|a| a.warnings.iter())
            .into_iter()
            .flatten()
            .chain(rendered.map(|r| r.warnings.iter()).into_iter().flatten())
        {
            if !warnings.contains(warning) {
                warnings.push(warning.clone());
            }
        }
        let assignment = &plan.assignment;
        PhotoRecord {
            source: photo.input.path.display().to_string(),
            status: Status::Failed,
            error: None,
            error_stage: None,
            warnings,
            format: outcome.format.or(photo.input.format),
            width: analysis.map(|a| a.upright_size.0),
            height: analysis.map(|a| a.upright_size.1),
            orientation: exif.orientation,
            capture_time: exif.capture_time.as_ref().map(|time| time.iso8601()),
            camera: exif.camera(),
            camera_id: Some(photo.camera_id()),
            photographer: options.shoot_for(photo).credit,
            lens: exif.lens.clone(),
            presets: PresetsUsed {
                crop: options.crop.0.clone(),
                tone: options.tone.name.clone(),
                export: options.export_name.clone(),
            },
            crop: rendered.and_then(|r| r.crop.clone()),
            needs_review: plan
                .identity_review
                .clone()
                .or_else(|| rendered.and_then(|r| r.needs_review.clone())),
            face_group: plan.face_group.clone(),
            role: assignment.role,
            person: assignment.person.clone(),
            assigned_by: assignment.assigned_by.clone(),
            person_seq: assignment.person_seq,
            faces: analysis
                .map(|a| a.faces().iter().map(FaceRecord::from_face).collect())
                .unwrap_or_default(),
            face_exposure_ev: rendered.and_then(|r| r.face_exposure_ev),
            title: assignment.person.as_ref().map(|person| person.name.clone()),
            caption: plan.caption.clone(),
            keywords: plan.keywords.clone(),
            exposure: Exposure {
                exposure_time: exif.exposure_time.clone(),
                f_number: exif.f_number,
                iso: exif.iso,
                focal_length: exif.focal_length,
            },
            outputs: Vec::new(),
            source_xxh3: outcome.xxh3,
        }
    }

    fn manifest(
        &self,
        records: Vec<PhotoRecord>,
        removed_outputs: Vec<crate::manifest::RemovedOutput>,
        review: Option<Review>,
        started: Instant,
        jobs: usize,
    ) -> Manifest {
        let wall_seconds = started.elapsed().as_secs_f64();
        let count = |status: Status| records.iter().filter(|r| r.status == status).count();
        let summary = Summary {
            photos: records.len(),
            ok: count(Status::Ok),
            failed: count(Status::Failed),
            skipped: count(Status::Skipped),
            outputs_written: self.outputs_finished.load(Ordering::Relaxed) as usize,
            removed_outputs,
            needs_review: records.iter().filter(|r| r.needs_review.is_some()).count(),
            rejected: records
                .iter()
                .filter(|r| r.role == crate::names::Role::Rejected)
                .count(),
            ignored_files: self
                .ignored
                .iter()
                .map(|(path, reason)| IgnoredFile {
                    path: path.display().to_string(),
                    reason: reason.clone(),
                })
                .collect(),
        };
        let runs = &self.analysers.runs;
        let counts = WorkCounts {
            decodes: self.decodes.load(Ordering::Relaxed),
            face_detections: runs.faces.load(Ordering::Relaxed),
            face_descriptions: runs.descriptors.load(Ordering::Relaxed),
            slate_reads: runs.slates.load(Ordering::Relaxed),
            crop_plans: runs.crops.load(Ordering::Relaxed),
            renders: self.renders.load(Ordering::Relaxed),
            outputs_finished: self.outputs_finished.load(Ordering::Relaxed),
        };
        Manifest {
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
            review,
            cameras: Vec::new(),
            timing: Timing {
                wall_seconds,
                photos_per_second: records.len() as f64 / wall_seconds.max(1e-9),
                jobs,
                stage_seconds: self.clock.seconds(),
                counts,
            },
            photos: records,
        }
    }
}

/// Records `outcome`'s render in the re-run state; when the state journalled it, the outcome
/// lets go of it too until [`restore_renders`].
fn journal_render(
    state: &RerunState,
    path: &Path,
    (stamp, xxh3): (SourceStamp, u64),
    outcome: &mut PhotoOutcome,
) {
    if state.rendered(path, stamp, xxh3, outcome.rendered.as_ref()) {
        outcome.rendered = None;
        outcome.render_journalled = true;
    }
}

/// After the first pass: the renders it let go of, back from the journal for decide and finish.
/// A photo whose record no longer reads fails; the next run renders it again.
fn restore_renders(photos: &[PlannedPhoto], outcomes: &mut [PhotoOutcome], state: &RerunState) {
    state.restore_renders();
    for (photo, outcome) in photos.iter().zip(outcomes) {
        if !std::mem::take(&mut outcome.render_journalled) {
            continue;
        }
        outcome.rendered = state.render_of(&photo.input.path);
        if outcome.rendered.is_none() {
            outcome.failure = Some(PhotoFailure {
                path: photo.input.path.clone(),
                stage: Stage::Write,
                error: PhotoError::Io(std::io::Error::other(format!(
                    "its render record could not be read back from {}",
                    crate::rerun::JOURNAL_FILE
                ))),
            });
        }
    }
}

/// `OUT/corrections.csv` matched to the photos; a bad line or an unknown code stops the run.
fn shoot_corrections(
    photos: &[PlannedPhoto],
    options: &RunOptions,
) -> Result<ShootCorrections, ConfigError> {
    let read = crate::corrections::read_corrections(&options.output_dir)
        .map_err(|error| ConfigError::Usage(error.to_string()))?;
    let refs: Vec<PhotoRef<'_>> = photos
        .iter()
        .map(|photo| PhotoRef {
            path: &photo.input.path,
            relative: &photo.input.relative,
            capture_time: None,
            camera: None,
            clock_offset: crate::names::ClockOffset::ZERO,
            clock_slate: false,
        })
        .collect();
    let naming = &options.naming;
    overrides::resolve(&read, &refs, naming.source.as_ref(), naming.codes.as_ref())
        .map_err(ConfigError::Usage)
}

/// What the decide pass knows of `photos` (with their outcomes and corrections, same order),
/// each with its camera's clock offset.
fn facts_of<'a>(
    photos: &[&'a PlannedPhoto],
    outcomes: &'a [PhotoOutcome],
    corrections: &[Option<&'a PhotoCorrection>],
    clocks: &ShootClocks,
) -> Vec<PhotoFacts<'a>> {
    photos
        .iter()
        .zip(outcomes)
        .zip(corrections)
        .map(|((photo, outcome), correction)| PhotoFacts {
            photo,
            analysis: outcome.analysis.as_ref(),
            rendered: outcome.rendered.as_deref(),
            correction: *correction,
            clock_offset: clocks.offset_of(&photo.camera_id()),
        })
        .collect()
}

/// `manifest.json`, `manifest.csv` and `index.html`, each written atomically.
fn write_run_files(manifest: &Manifest, output_dir: &Path) -> Result<(), ConfigError> {
    let io_error = |path: PathBuf| move |source| ConfigError::Io { path, source };
    let manifest_path = output_dir.join("manifest.json");
    output::write_atomically_with(&manifest_path, |out| manifest.write_json(out))
        .map_err(io_error(manifest_path.clone()))?;
    let csv_path = output_dir.join("manifest.csv");
    output::write_atomically_with(&csv_path, |out| manifest.write_csv(out))
        .map_err(io_error(csv_path.clone()))?;
    gallery::write_index(manifest, output_dir)
        .map_err(io_error(output_dir.join(gallery::INDEX_FILE)))?;
    Ok(())
}

/// One photo's analysis for `inspect`, with a copy to draw on; or why it failed.
type InspectAnalysis = Result<(PhotoAnalysis, Option<image::RgbImage>), String>;

/// What `inspect` reports of one photo: the run's own analysis and decision.
#[derive(Debug)]
pub struct Inspected {
    pub analysis: PhotoAnalysis,
    /// Who the photo is assigned to; `None` when the run has no names.
    pub assignment: Option<crate::names::PhotoAssignment>,
    /// A copy to draw on, when asked for.
    pub drawing: Option<image::RgbImage>,
    /// With names checked against faces: how far its face is from each person's.
    pub face_distances: Option<crate::identity::FaceDistances>,
}

/// The decide pass's view of the shoot for `inspect`: names, and face distances of the
/// inspected photos (by shoot position).
struct InspectNames {
    assignments: Vec<crate::names::PhotoAssignment>,
    face_distances: Vec<Option<crate::identity::FaceDistances>>,
}

impl Job {
    /// `inspect`: the photos at `wanted` analysed exactly as `run` analyses them (same decode
    /// scale, same analysers, plus the crops of `extra_crops`) and, with names, the decide pass
    /// over the whole shoot (so slates and `first_file` rows before them count). Nothing is
    /// written. A photo that is not in the shoot, or fails, is an `Err` naming it.
    pub fn inspect(
        &self,
        wanted: &[PathBuf],
        extra_crops: &[crate::crop::CropPreset],
        drawing: bool,
    ) -> Vec<Result<Inspected, String>> {
        let canonical = |path: &Path| fs::canonicalize(path).ok();
        let positions: Vec<Option<usize>> = wanted
            .iter()
            .map(|file| {
                let file = canonical(file)?;
                self.photos
                    .iter()
                    .position(|photo| canonical(&photo.input.path).as_ref() == Some(&file))
            })
            .collect();
        let mut full = self.analysis_needs();
        for preset in extra_crops {
            let key = analyse::crop_key(preset);
            if !full.crops.iter().any(|(known, _)| known == &key) {
                full.crops.push((key, preset.clone()));
            }
        }
        // The rest of the shoot: slates, and faces when names are checked against them, so
        // names by face and the distances are the run's.
        let others = AnalysisNeeds {
            slates: full.slates,
            faces: full.identity,
            identity: full.identity,
            ..AnalysisNeeds::default()
        };
        let cache = AnalysisCache::none();
        let analysed: Vec<Option<InspectAnalysis>> = self
            .photos
            .par_iter()
            .enumerate()
            .map(|(index, photo)| {
                let is_wanted = positions.contains(&Some(index));
                if !is_wanted && !full.slates && !full.identity {
                    return None;
                }
                let needs = if is_wanted { &full } else { &others };
                Some(self.inspect_one(photo, &cache, needs, drawing && is_wanted))
            })
            .collect();
        let mut names = self.inspect_names(&analysed, &positions);
        positions
            .iter()
            .zip(wanted)
            .map(|(position, file)| {
                let index = position.ok_or_else(|| {
                    format!(
                        "{} is not in the shoot {}; give the shoot folder with --shoot",
                        file.display(),
                        self.options
                            .inputs
                            .first()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    )
                })?;
                let (analysis, drawing) = analysed[index].clone().ok_or("not analysed")??;
                Ok(Inspected {
                    analysis,
                    assignment: names.as_ref().map(|names| names.assignments[index].clone()),
                    drawing,
                    face_distances: names
                        .as_mut()
                        .and_then(|names| names.face_distances[index].take()),
                })
            })
            .collect()
    }

    fn inspect_one(
        &self,
        photo: &PlannedPhoto,
        cache: &AnalysisCache,
        needs: &AnalysisNeeds,
        drawing: bool,
    ) -> Result<(PhotoAnalysis, Option<image::RgbImage>), String> {
        let mut resizer = fast_image_resize::Resizer::new();
        let analysed = guarded(&photo.input.path, || {
            let source = develop::read_source(
                &photo.input.path,
                photo.input.format,
                photo.exif.orientation,
            )?;
            let analysed = self.decode_and_analyse(photo, source, cache, needs, &mut resizer)?;
            let working = &analysed.developed.working;
            let copy = drawing
                .then(|| {
                    let edge = crate::face_overlay::DRAWING_LONG_EDGE;
                    let (width, height) =
                        crate::resize::fit_long_edge(working.width(), working.height(), edge);
                    let whole = crate::resize::SourceBox::whole(working);
                    crate::resize::crop_and_resize(&mut resizer, working, whole, width, height)
                        .map_err(|message| (Stage::Decode, PhotoError::Processing(message)))
                })
                .transpose()?;
            Ok((analysed.analysis, copy))
        });
        analysed.map_err(|failure| failure.to_string())
    }

    /// The decide pass's names over `analysed` photos (slates and faces read where analysed),
    /// and the face distances of the photos at `positions` (when names are checked by face).
    fn inspect_names(
        &self,
        analysed: &[Option<InspectAnalysis>],
        positions: &[Option<usize>],
    ) -> Option<InspectNames> {
        self.options.naming.source.as_ref()?;
        let facts: Vec<PhotoFacts<'_>> = self
            .photos
            .iter()
            .zip(analysed)
            .zip(&self.corrections.per_photo)
            .map(|((photo, analysis), correction)| PhotoFacts {
                photo,
                analysis: analysis
                    .as_ref()
                    .and_then(|result| result.as_ref().ok())
                    .map(|(analysis, _)| analysis),
                rendered: None,
                correction: correction.as_ref(),
                clock_offset: crate::names::ClockOffset::ZERO,
            })
            .collect();
        // As `run` does: each camera's clock, then the corrected capture order.
        let clocks = ShootClocks::decide(&facts, &self.options);
        let order = clocks.capture_order(&facts);
        let ordered: Vec<PhotoFacts<'_>> = order
            .iter()
            .map(|&index| PhotoFacts {
                clock_offset: clocks.offset_of(&facts[index].photo.camera_id()),
                ..facts[index]
            })
            .collect();
        let references = self.reference_faces(&AnalysisCache::none());
        let decision = decide::decide_with_references(&ordered, &references, &self.options).ok()?;
        let mut assignments = vec![crate::names::PhotoAssignment::default(); facts.len()];
        for (plan, &index) in decision.plans.into_iter().zip(&order) {
            assignments[index] = plan.assignment;
        }
        let face_distances = (0..facts.len())
            .map(|index| {
                let wanted = positions.contains(&Some(index)) && self.options.needs_identity();
                wanted.then(|| {
                    crate::identity::face_distances(&facts, &assignments, &references, index)
                })
            })
            .collect();
        Some(InspectNames {
            assignments,
            face_distances,
        })
    }
}
