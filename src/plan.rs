//! The planning types every pass shares: a run's validated settings and the photos of the shoot
//! in capture order. Nothing here decodes a pixel.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::crop::CropPreset;
use crate::discover::{self, InputFile};
use crate::error::ConfigError;
use crate::exif_info::{self, ExifInfo};
use crate::metadata::MetadataPolicy;
use crate::names::NamingConfig;
use crate::naming::NameTemplate;
use crate::presets::{ExportPreset, NamedTone};
use crate::rerun::RerunPolicy;

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
    /// The shoot file this run read, if any (it is no photo, and not worth reporting as ignored).
    pub shoot_file: Option<PathBuf>,
    /// Face descriptors allowed (the default); `--no-biometrics` turns identity off and
    /// removes every descriptor from the analysis cache.
    pub biometrics: bool,
    /// Shoot files per folder and `[camera]` tables: see [`RunOptions::shoot_for`].
    pub shoot_layers: crate::shoot_files::ShootLayers,
}

impl RunOptions {
    /// The crop preset of each derivative, in export order: its own, or the shoot's.
    pub fn crop_presets(&self) -> Vec<&(String, CropPreset)> {
        self.derivative_crops
            .iter()
            .map(|own| own.as_ref().unwrap_or(&self.crop))
            .collect()
    }

    /// Whether faces are looked for: asked for, or needed by a crop or by the tone.
    pub fn needs_faces(&self) -> bool {
        self.detect_faces
            || self.needs_identity()
            || self.tone.compiled.face_exposure().is_some()
            || self
                .crop_presets()
                .iter()
                .any(|(_, crop)| crop.uses_faces())
    }

    /// Files the run reads as settings (shoot file, names sheet, roster): not ignored photos.
    pub fn settings_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.shoot_file.iter().cloned().collect();
        files.extend(self.shoot_layers.files.iter().cloned());
        match &self.naming.source {
            Some(crate::names::NamesFrom::Sheet(sheet)) => files.push(sheet.path.clone()),
            Some(crate::names::NamesFrom::Slates {
                roster: Some(roster),
            }) => files.push(roster.path.clone()),
            _ => {}
        }
        files.extend(self.naming.codes.iter().map(|codes| codes.path.clone()));
        files
            .iter()
            .filter_map(|file| fs::canonicalize(file).ok())
            .collect()
    }

    /// Whether names are checked against faces (and unnamed frames named by face): with names,
    /// unless `--no-biometrics`.
    pub fn needs_identity(&self) -> bool {
        self.biometrics && self.naming.source.is_some()
    }

    /// Event, credit and copyright for one photo: its folders' shoot files (inner over outer),
    /// its camera's table, then flags.
    pub fn shoot_for(&self, photo: &PlannedPhoto) -> ShootInfo {
        self.shoot_layers.for_photo(&photo.input.path, &photo.exif)
    }

    /// Whether QR slates name the shoot, so every photo is read for a code.
    pub fn reads_slates(&self) -> bool {
        matches!(
            self.naming.source,
            Some(crate::names::NamesFrom::Slates { .. })
        )
    }
}

/// Facts about the whole shoot that go into every photo's metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ShootInfo {
    pub event: Option<String>,
    /// The photographer's credit line (XMP dc:creator, IPTC By-line, EXIF Artist).
    pub credit: Option<String>,
    pub copyright: Option<String>,
}

/// One photo of the shoot as discovered: where it is and what its EXIF says.
#[derive(Debug, Clone)]
pub struct PlannedPhoto {
    pub input: InputFile,
    pub exif: ExifInfo,
    pub exif_warnings: Vec<String>,
}

impl PlannedPhoto {
    /// Which camera took it ([`ExifInfo::camera_id`], in the folder the photo was found in).
    pub fn camera_id(&self) -> String {
        self.exif
            .camera_id(self.input.path.parent().unwrap_or(Path::new("")))
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
                },
                Err(_) => PlannedPhoto {
                    input,
                    exif: ExifInfo {
                        orientation: 1,
                        ..ExifInfo::default()
                    },
                    exif_warnings: Vec::new(),
                },
            }
        })
        .collect();
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
