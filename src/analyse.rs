//! The analyse pass: what each photo shows (its faces, the code on a QR slate, where each crop
//! preset cuts it), found on the one decode and kept in a cache in the output folder keyed by
//! the source's content hash, so a re-run never runs an analyser twice on the same bytes.
//!
//! Analysers run only for what the run needs; a cached analysis that lacks something (a crop
//! preset added since, slates turned on) is completed on the next decode.
//!
//! Reference photos (the roster's `photo` column) are analysed here too, into the same cache
//! by their own content hash: faces and descriptors only, never rendered.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clock_code::ClockReading;
use crate::crop::{self, CropPlan, CropPreset};
use crate::develop;
use crate::faces::descriptor::{FaceDescriber, FaceDescriptor};
use crate::faces::{Face, FaceDetector};
use crate::fingerprint;
use crate::names::{self, Person, Roster, SlatePayload};
use crate::output;

/// Bump when an analyser changes what it finds: cached analyses of other versions are ignored.
pub const ANALYSIS_VERSION: u32 = 3;
/// Faces whose eyes are closer than this (working pixels) get no descriptor: below about 16 px
/// the descriptor stops separating people (tests/identity.rs measures it).
const MIN_EYE_DISTANCE: f32 = 20.0;
/// The cache, inside the output folder (hidden, so discovery never enters it).
pub const CACHE_FOLDER: &str = ".headshot/analysis";
/// Long edge a reference photo is decoded at (or its own size when smaller): plenty for a face
/// that fills a registration photo, little for a 24 MP one.
const REFERENCE_LONG_EDGE: f64 = 1600.0;

/// What one photo shows, in upright source pixels; independent of every output setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotoAnalysis {
    pub upright_size: (u32, u32),
    /// Faces, largest first; `None` until the detector has looked.
    pub faces: Option<Vec<Face>>,
    /// `None` until slates were looked for; then the QR code's text, if one read. Absent from
    /// the cache file until looked for, `null` when no code read (version 1 wrote `null` for
    /// both, so every slates run read every photo again).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "looked_for"
    )]
    pub slate_code: Option<Option<String>>,
    /// Face descriptors (biometric data: they stay in this cache), one per face in `faces`
    /// order, `None` for a face too small to describe; `None` until described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptors: Option<Vec<Option<FaceDescriptor>>>,
    /// Each crop preset's plan, by [`crop_key`].
    pub crops: BTreeMap<String, CropPlan>,
    /// What went wrong in an analyser (the photo goes on without it).
    pub warnings: Vec<String>,
}

/// A field that is present was looked for: `null` is `Some(None)`, not `None`.
fn looked_for<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// What a run needs from every photo's analysis.
#[derive(Debug, Clone, Default)]
pub struct AnalysisNeeds {
    pub faces: bool,
    /// A descriptor of every face large enough (implies `faces`).
    pub identity: bool,
    pub slates: bool,
    /// Crop presets by [`crop_key`].
    pub crops: Vec<(String, CropPreset)>,
    /// For each entry of `crops`, the derivatives it cuts (named in its warnings).
    pub crop_users: Vec<String>,
}

impl AnalysisNeeds {
    /// Whether completing `analysis` looks at the preview: faces to find, or a crop that judges
    /// content (a centred crop is pure geometry).
    pub fn look_at_preview(&self, analysis: &PhotoAnalysis) -> bool {
        (self.faces && analysis.faces.is_none())
            || self.crops.iter().any(|(key, preset)| {
                preset.anchor != crate::crop::Anchor::Center && !analysis.crops.contains_key(key)
            })
    }
}

/// The key a crop preset's plan is kept under: its settings' fingerprint.
pub fn crop_key(preset: &CropPreset) -> String {
    fingerprint::hex(fingerprint::of(preset))
}

impl PhotoAnalysis {
    /// The analysis as the decide and finish passes keep it until the run ends: without the
    /// crop plans, which have done their job once the photo is rendered (the cache keeps them).
    /// A map's node is about 1.3 KB, so over a 3,000-photo shoot they were 4 MB held for nothing.
    pub fn without_crop_plans(mut self) -> Self {
        self.crops = BTreeMap::new();
        self
    }

    /// Whether every analyser `needs` asks for has already run.
    pub fn satisfies(&self, needs: &AnalysisNeeds) -> bool {
        (!needs.faces || self.faces.is_some())
            && (!needs.identity || self.descriptors.is_some())
            && (!needs.slates || self.slate_code.is_some())
            && needs
                .crops
                .iter()
                .all(|(key, _)| self.crops.contains_key(key))
    }

    /// Faces found, or none when the detector did not look.
    pub fn faces(&self) -> &[Face] {
        self.faces.as_deref().unwrap_or(&[])
    }

    /// The slate code, when the photo is a slate (a code that is not some other kind of QR).
    pub fn slate(&self) -> Option<&str> {
        let code = self.slate_code.as_ref()?.as_deref()?;
        match names::classify_payload(code) {
            SlatePayload::Slate(_) => Some(code),
            SlatePayload::Foreign(_) | SlatePayload::Clock(_) => None,
        }
    }

    /// The reference time, when the photo is a clock slate (a `headshot clock` code).
    pub fn clock_reading(&self) -> Option<ClockReading> {
        let code = self.slate_code.as_ref()?.as_deref()?;
        ClockReading::from_payload(code)
    }

    /// The largest face and its descriptor, when it was large enough to describe.
    pub fn main_descriptor(&self) -> Option<&FaceDescriptor> {
        let faces = self.faces.as_ref()?;
        let (index, _) = faces
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| a.area().total_cmp(&b.area()))?;
        self.descriptors.as_ref()?.get(index)?.as_ref()
    }

    /// The same analysis without biometric data (`--no-biometrics`).
    pub fn without_descriptors(&self) -> PhotoAnalysis {
        PhotoAnalysis {
            descriptors: None,
            ..self.clone()
        }
    }

    /// The plan of one crop preset (analysed before use: see [`AnalysisNeeds`]).
    pub fn crop(&self, key: &str) -> Option<&CropPlan> {
        self.crops.get(key)
    }
}

/// How many times each analyser ran in a run: the proof that caches work.
#[derive(Debug, Default)]
pub struct AnalyserRuns {
    pub faces: AtomicU64,
    pub descriptors: AtomicU64,
    pub slates: AtomicU64,
    pub crops: AtomicU64,
}

/// The face networks, loaded on first use and kept for the life of the process: a desk runs a
/// job per batch of arriving photos, and reloading the descriptor network alone took 0.4-0.6 s
/// of every batch (the models never change once loaded).
static FACE_DETECTOR: OnceLock<Result<FaceDetector, String>> = OnceLock::new();
static FACE_DESCRIBER: OnceLock<Result<FaceDescriber, String>> = OnceLock::new();

fn face_detector() -> &'static Result<FaceDetector, String> {
    FACE_DETECTOR.get_or_init(|| FaceDetector::new().map_err(|error| error.to_string()))
}

fn face_describer() -> &'static Result<FaceDescriber, String> {
    FACE_DESCRIBER.get_or_init(|| FaceDescriber::new().map_err(|error| error.to_string()))
}

/// The analysers of a run, shared by every worker.
#[derive(Debug, Default)]
pub struct Analysers {
    pub runs: AnalyserRuns,
    /// Set once the networks this run needs are being loaded ahead (see [`Analysers::load_ahead`]).
    loading_ahead: AtomicBool,
}

impl Analysers {
    /// Starts loading the face networks that completing `analysis` will need on a thread of its
    /// own, once per run, so the load (0.4 s for the descriptor network) overlaps the photo's
    /// decode instead of stalling every worker that reaches the analysers first. A worker that
    /// gets there before the load ends waits for it ([`OnceLock`]); nothing loads twice.
    pub fn load_ahead(&self, needs: &AnalysisNeeds, analysis: &PhotoAnalysis) {
        let detector = needs.faces && analysis.faces.is_none() && FACE_DETECTOR.get().is_none();
        let describer =
            needs.identity && analysis.descriptors.is_none() && FACE_DESCRIBER.get().is_none();
        if !(detector || describer) || self.loading_ahead.swap(true, Ordering::Relaxed) {
            return;
        }
        // The descriptor network first: the slower load, and needed only after detection. If
        // no thread can be started, the workers load them on first use as before.
        let _ = std::thread::Builder::new()
            .name("load-face-networks".into())
            .spawn(move || {
                if describer {
                    face_describer();
                }
                if detector {
                    face_detector();
                }
            });
    }

    /// Runs what `analysis` still lacks of `needs` on this photo's `working` image (upright,
    /// any scale) and its `preview` (the small copy faces and content are judged on).
    pub fn complete(
        &self,
        analysis: &mut PhotoAnalysis,
        needs: &AnalysisNeeds,
        working: &RgbImage,
        preview: &RgbImage,
    ) {
        if needs.faces && analysis.faces.is_none() {
            self.runs.faces.fetch_add(1, Ordering::Relaxed);
            let to_source = analysis.upright_size.0 as f32 / preview.width().max(1) as f32;
            let faces = self.detect_faces(preview, &mut analysis.warnings);
            analysis.faces = Some(faces.iter().map(|face| face.scaled(to_source)).collect());
        }
        if needs.identity && analysis.descriptors.is_none() {
            self.runs.descriptors.fetch_add(1, Ordering::Relaxed);
            let descriptors = self.describe_faces(analysis, working);
            analysis.descriptors = Some(descriptors);
        }
        if needs.slates && analysis.slate_code.is_none() {
            self.runs.slates.fetch_add(1, Ordering::Relaxed);
            analysis.slate_code = Some(names::read_slate(working));
        }
        for (index, (key, preset)) in needs.crops.iter().enumerate() {
            if analysis.crops.contains_key(key) {
                continue;
            }
            self.runs.crops.fetch_add(1, Ordering::Relaxed);
            let users = needs.crop_users.get(index).map(String::as_str);
            let upright = analysis.upright_size;
            let plan = crop::plan_crop_for(preset, users, upright, preview, analysis.faces());
            analysis.crops.insert(key.clone(), plan);
        }
    }

    /// A descriptor per face of `analysis` (upright source pixels) from the `working` image;
    /// `None` for a face whose eyes are too close together in it to describe reliably.
    fn describe_faces(
        &self,
        analysis: &mut PhotoAnalysis,
        working: &RgbImage,
    ) -> Vec<Option<FaceDescriptor>> {
        let faces = analysis.faces.clone().unwrap_or_default();
        if faces.is_empty() {
            return Vec::new();
        }
        let describer = match face_describer() {
            Ok(describer) => describer,
            Err(message) => {
                analysis
                    .warnings
                    .push(format!("face descriptors failed: {message}"));
                return vec![None; faces.len()];
            }
        };
        let to_working = working.width() as f32 / analysis.upright_size.0.max(1) as f32;
        faces
            .iter()
            .map(|face| {
                let face = face.scaled(to_working);
                let [[left_x, left_y], [right_x, right_y]] = face.eyes;
                let eye_distance = (right_x - left_x).hypot(right_y - left_y);
                if eye_distance < MIN_EYE_DISTANCE {
                    return None;
                }
                describer.describe(working, &face).ok()
            })
            .collect()
    }

    /// Faces in `preview`'s own pixels, largest first; a detector failure becomes a warning.
    fn detect_faces(&self, preview: &RgbImage, warnings: &mut Vec<String>) -> Vec<Face> {
        let outcome = match face_detector() {
            Ok(detector) => detector.detect(preview).map_err(|error| error.to_string()),
            Err(message) => Err(message.clone()),
        };
        outcome.unwrap_or_else(|message| {
            warnings.push(format!("face detection failed: {message}"));
            Vec::new()
        })
    }
}

/// An attendee's reference photo (the roster's `photo` column) and its one face's descriptor.
/// Biometric: the descriptor lives here and in the analysis cache, nowhere else.
#[derive(Debug, Clone)]
pub struct ReferenceFace {
    /// The attendee, as the roster gives them.
    pub person: Person,
    /// The `photo` column as written (relative to the roster).
    pub photo: PathBuf,
    /// The content hash of the reference file, when it could be read: its cache entry.
    pub xxh3: Option<u64>,
    /// The descriptor, or why there is none: a review warning naming the roster line.
    pub descriptor: Result<FaceDescriptor, String>,
}

/// Describes every reference photo of `roster` (in parallel, in roster order), from `cache`
/// when it holds the reference's analysis. A reference that cannot be read, shows no face or
/// more than one is no failure: its `descriptor` says why, naming the roster line.
pub fn describe_references(
    analysers: &Analysers,
    cache: &AnalysisCache,
    roster: &Roster,
    max_megapixels: u64,
) -> Vec<ReferenceFace> {
    let wanted: Vec<(&names::RosterEntry, PathBuf)> = roster
        .entries
        .iter()
        .filter_map(|entry| Some((entry, roster.reference_path(entry)?)))
        .collect();
    wanted
        .par_iter()
        .map(|(entry, path)| {
            let photo = PathBuf::from(entry.photo.as_deref().unwrap_or_default());
            let (xxh3, descriptor) = match analysers.analyse_reference(path, cache, max_megapixels)
            {
                Ok((xxh3, analysis)) => (Some(xxh3), only_face(&analysis)),
                Err(message) => (None, Err(message)),
            };
            ReferenceFace {
                person: entry.person.clone(),
                descriptor: descriptor.map_err(|why| {
                    format!(
                        "{}:{}: reference photo {}: {why}",
                        roster.path.display(),
                        entry.line,
                        photo.display()
                    )
                }),
                photo,
                xxh3,
            }
        })
        .collect()
}

/// The descriptor of a reference's one face; several faces would make it anyone's.
fn only_face(analysis: &PhotoAnalysis) -> Result<FaceDescriptor, String> {
    let described: Vec<&FaceDescriptor> = analysis.descriptors.iter().flatten().flatten().collect();
    match (analysis.faces().len(), described.as_slice()) {
        (0, _) => Err("no face found; it is not used".to_string()),
        (_, [one]) => Ok((*one).clone()),
        (_, []) => Err("the face is too small to describe; it is not used".to_string()),
        (_, several) => Err(format!(
            "{} faces; a reference should show the attendee alone, so it is not used",
            several.len()
        )),
    }
}

impl Analysers {
    /// A reference photo's analysis (faces and descriptors), from `cache` or one decode at
    /// [`REFERENCE_LONG_EDGE`]; stored in `cache` under its content hash.
    fn analyse_reference(
        &self,
        path: &Path,
        cache: &AnalysisCache,
        max_megapixels: u64,
    ) -> Result<(u64, PhotoAnalysis), String> {
        let needs = AnalysisNeeds {
            faces: true,
            identity: true,
            ..AnalysisNeeds::default()
        };
        let failed = |error: crate::error::PhotoError| error.to_string();
        let mut source = develop::read_source(path, None, 1).map_err(|(_, e)| failed(e))?;
        let orientation = crate::exif_info::read_exif(&source.bytes).info.orientation;
        source.upright_size = crate::orient::upright_size(source.upright_size, orientation);
        let xxh3 = source.xxh3;
        if let Some(cached) = cache.load(xxh3).filter(|a| a.satisfies(&needs)) {
            return Ok((xxh3, cached));
        }
        let long_edge = f64::from(source.upright_size.0.max(source.upright_size.1).max(1));
        let scale = (REFERENCE_LONG_EDGE / long_edge).min(1.0);
        let developed = develop::develop(source, orientation, scale, max_megapixels)
            .map_err(|(_, e)| failed(e))?;
        let preview = developed
            .preview(&mut fast_image_resize::Resizer::new())
            .map_err(|(_, e)| failed(e))?;
        let mut analysis = PhotoAnalysis {
            upright_size: developed.upright_size,
            ..PhotoAnalysis::default()
        };
        self.complete(&mut analysis, &needs, &developed.working, &preview);
        cache.store(xxh3, &analysis);
        Ok((xxh3, analysis))
    }
}

/// The analysis cache of one output folder: a small JSON file per source content hash.
#[derive(Debug, Clone)]
pub struct AnalysisCache {
    folder: Option<PathBuf>,
    /// Load nothing (every analyser runs again), store everything: `--force`.
    refresh: bool,
    /// Never load or keep face descriptors (`--no-biometrics`).
    no_biometrics: bool,
}

/// A cached analysis with the version that made it.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    analysis: PhotoAnalysis,
}

impl AnalysisCache {
    /// The cache in `output_dir` (created on first store).
    pub fn in_output(output_dir: &Path) -> Self {
        Self {
            folder: Some(output_dir.join(CACHE_FOLDER)),
            refresh: false,
            no_biometrics: false,
        }
    }

    /// This cache, with every analysis made afresh and stored over the cached one.
    pub fn refreshing(self) -> Self {
        Self {
            refresh: true,
            ..self
        }
    }

    /// No cache: every analysis is made afresh and nothing is written (`inspect`).
    pub fn none() -> Self {
        Self {
            folder: None,
            refresh: false,
            no_biometrics: false,
        }
    }

    /// This cache, keeping no face descriptor.
    pub fn without_biometrics(self) -> Self {
        Self {
            no_biometrics: true,
            ..self
        }
    }

    /// Rewrites every cached analysis that holds face descriptors without them.
    pub fn remove_biometrics(&self) {
        let Some(folder) = &self.folder else {
            return;
        };
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(bytes) = fs::read(entry.path()) else {
                continue;
            };
            match serde_json::from_slice::<CacheFile>(&bytes) {
                Ok(file) if file.analysis.descriptors.is_some() => {
                    let stripped = CacheFile {
                        version: file.version,
                        analysis: file.analysis.without_descriptors(),
                    };
                    match serde_json::to_vec(&stripped) {
                        Ok(bytes) => {
                            let _ = output::write_atomically(&entry.path(), &bytes);
                        }
                        Err(_) => {
                            let _ = fs::remove_file(entry.path());
                        }
                    }
                }
                Ok(_) => {}
                // Unreadable: it may hold anything, so it goes.
                Err(_) => {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    fn path(&self, xxh3: u64) -> Option<PathBuf> {
        let folder = self.folder.as_ref()?;
        Some(folder.join(format!("{}.json", fingerprint::hex(xxh3))))
    }

    /// The cached analysis of the source with this content hash, if one of this version exists.
    pub fn load(&self, xxh3: u64) -> Option<PhotoAnalysis> {
        if self.refresh {
            return None;
        }
        let text = fs::read(self.path(xxh3)?).ok()?;
        let file: CacheFile = serde_json::from_slice(&text).ok()?;
        let analysis = match self.no_biometrics {
            true => file.analysis.without_descriptors(),
            false => file.analysis,
        };
        (file.version == ANALYSIS_VERSION).then_some(analysis)
    }

    /// Keeps `analysis` for the source with this content hash; a failure only costs a re-run.
    pub fn store(&self, xxh3: u64, analysis: &PhotoAnalysis) {
        let Some(path) = self.path(xxh3) else {
            return;
        };
        let analysis = match self.no_biometrics {
            true => analysis.without_descriptors(),
            false => analysis.clone(),
        };
        let file = CacheFile {
            version: ANALYSIS_VERSION,
            analysis,
        };
        if let Ok(bytes) = serde_json::to_vec(&file) {
            if let Some(folder) = path.parent() {
                let _ = fs::create_dir_all(folder);
            }
            let _ = output::write_atomically(&path, &bytes);
        }
    }

    /// Removes cached analyses of sources no longer in the shoot (by content hash).
    pub fn retain(&self, keep: &std::collections::HashSet<u64>) {
        let Some(folder) = &self.folder else {
            return;
        };
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let hash = name
                .strip_suffix(".json")
                .and_then(|stem| u64::from_str_radix(stem, 16).ok());
            if hash.is_some_and(|hash| !keep.contains(&hash)) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slate_readings_survive_the_cache() {
        for slate_code in [None, Some(None), Some(Some("A1".to_string()))] {
            let analysis = PhotoAnalysis {
                slate_code: slate_code.clone(),
                ..PhotoAnalysis::default()
            };
            let json = serde_json::to_string(&analysis).unwrap();
            let read: PhotoAnalysis = serde_json::from_str(&json).unwrap();
            assert_eq!(read.slate_code, slate_code, "{json}");
        }
    }
}
