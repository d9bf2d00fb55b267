//! A run's settings resolved once, in the library: flags over the shoot file over defaults,
//! presets looked up and compiled, names loaded, templates checked. `run` and `inspect` resolve
//! through here, so they always see the same settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::decode;
use crate::error::ConfigError;
use crate::metadata::MetadataPolicy;
use crate::names::{NamingConfig, NamingSettings};
use crate::naming::{check_template_extension, NameTemplate, DEFAULT_TEMPLATE};
use crate::plan::{RunOptions, ShootInfo};
use crate::presets::{Registry, ShootFile};
use crate::rerun::RerunPolicy;
use crate::shoot_files::ShootLayers;

/// Who is in which photo, as flags give it (each falls back to the shoot file).
#[derive(Debug, Clone, Default)]
pub struct NamesFlags {
    pub names: Option<PathBuf>,
    pub slates: bool,
    pub roster: Option<PathBuf>,
    pub clock_offset: Option<String>,
    pub max_gap: Option<String>,
    /// `--codes FILE`: Photo Mechanic code replacements.
    pub codes: Option<PathBuf>,
}

/// A run as the user asked for it, before anything is read or checked.
#[derive(Debug, Clone)]
pub struct RunFlags {
    pub inputs: Vec<PathBuf>,
    pub output_dir: PathBuf,
    pub export: Option<String>,
    pub crop: Option<String>,
    pub tone: Option<String>,
    pub template: Option<String>,
    /// The shoot file; `None` looks for `headshot.toml` in the first input folder.
    pub config: Option<PathBuf>,
    pub preset_folders: Vec<PathBuf>,
    pub jobs: Option<usize>,
    pub max_megapixels: u64,
    pub event: Option<String>,
    pub credit: Option<String>,
    pub copyright: Option<String>,
    pub force: bool,
    pub metadata_policy: MetadataPolicy,
    pub faces: bool,
    pub names: NamesFlags,
    pub caption: Option<String>,
    pub by_person: bool,
    pub sidecars: bool,
    /// `--no-biometrics`: no face descriptors, and none left in the cache.
    pub no_biometrics: bool,
}

impl RunFlags {
    /// A run over `inputs` into `output_dir` with every other setting at its default.
    pub fn new(inputs: Vec<PathBuf>, output_dir: PathBuf) -> Self {
        Self {
            inputs,
            output_dir,
            export: None,
            crop: None,
            tone: None,
            template: None,
            config: None,
            preset_folders: Vec::new(),
            jobs: None,
            max_megapixels: decode::DEFAULT_MAX_MEGAPIXELS,
            event: None,
            credit: None,
            copyright: None,
            force: false,
            metadata_policy: MetadataPolicy::default(),
            faces: false,
            names: NamesFlags::default(),
            caption: None,
            by_person: false,
            sidecars: false,
            no_biometrics: false,
        }
    }
}

/// The shoot file: `config`, else `headshot.toml` in the first input folder; with its folder
/// (what paths inside it are relative to).
pub fn find_shoot_file(
    config: Option<&Path>,
    inputs: &[PathBuf],
) -> Result<(ShootFile, PathBuf, Option<PathBuf>), ConfigError> {
    let path = match config {
        Some(path) => Some(path.to_path_buf()),
        None => inputs
            .iter()
            .find(|input| input.is_dir())
            .map(|folder| folder.join("headshot.toml"))
            .filter(|path| path.is_file()),
    };
    match path {
        Some(path) => {
            let folder = path.parent().map(PathBuf::from).unwrap_or_default();
            Ok((ShootFile::load(&path)?, folder, Some(path)))
        }
        None => Ok((ShootFile::default(), PathBuf::new(), None)),
    }
}

/// Naming settings from flags, falling back to the shoot file (its paths relative to itself).
pub fn naming_settings(
    names: &NamesFlags,
    shoot: &ShootFile,
    shoot_folder: &Path,
) -> NamingSettings {
    let from_file = |path: &Option<String>| path.as_ref().map(|path| shoot_folder.join(path));
    NamingSettings {
        names: names.names.clone().or_else(|| from_file(&shoot.names)),
        slates: names.slates || shoot.slates.unwrap_or(false),
        roster: names.roster.clone().or_else(|| from_file(&shoot.roster)),
        clock_offset: names.clock_offset.clone().or(shoot.clock_offset.clone()),
        max_gap: names.max_gap.clone().or(shoot.max_gap.clone()),
        codes: names.codes.clone().or_else(|| from_file(&shoot.codes)),
        caption: shoot.caption.clone(),
        by_person: false,
        sidecars: false,
    }
}

impl RunOptions {
    /// Resolves `flags` (over the shoot file, over defaults) into checked settings.
    pub fn resolve(flags: &RunFlags) -> Result<RunOptions, ConfigError> {
        if flags.jobs == Some(0) {
            return Err(ConfigError::Usage("--jobs must be at least 1".to_string()));
        }
        let (shoot, shoot_folder, shoot_file) =
            find_shoot_file(flags.config.as_deref(), &flags.inputs)?;
        let registry = Registry::new(flags.preset_folders.clone());
        // A flag names a preset relative to the current folder; the shoot file, relative to itself.
        let choose = |flag: &Option<String>, from_file: &Option<String>, default: &str| match (
            flag, from_file,
        ) {
            (Some(flag), _) => (flag.clone(), PathBuf::new()),
            (None, Some(value)) => (value.clone(), shoot_folder.clone()),
            (None, None) => (default.to_string(), PathBuf::new()),
        };
        let (export_name, export_folder) = choose(&flags.export, &shoot.export, "web");
        let (crop_name, crop_folder) = choose(&flags.crop, &shoot.crop, "original");
        let (tone_name, tone_folder) = choose(&flags.tone, &shoot.tone, "neutral");
        let export = registry
            .export_relative(&export_name, &export_folder)
            .map_err(|error| blame(&shoot, &flags.export, "export", error))?
            .preset;
        let crop = registry
            .crop(&crop_name, &crop_folder)
            .map_err(|error| blame(&shoot, &flags.crop, "crop", error))?;
        let derivative_crops = export
            .derivatives
            .iter()
            .map(|derivative| {
                derivative
                    .crop
                    .as_ref()
                    .map(|name| {
                        registry
                            .crop(name, &export_folder)
                            .map(|resolved| (resolved.name, resolved.preset))
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tone = registry
            .tone(&tone_name, &tone_folder)
            .map_err(|error| blame(&shoot, &flags.tone, "tone", error))?;
        let naming = NamingSettings {
            caption: flags.caption.clone().or(shoot.caption.clone()),
            by_person: flags.by_person,
            sidecars: flags.sidecars,
            ..naming_settings(&flags.names, &shoot, &shoot_folder)
        }
        .load()?;
        let template = flags
            .template
            .clone()
            .or(shoot.template.clone())
            .unwrap_or_else(|| DEFAULT_TEMPLATE.to_string());
        let template = checked_template(&template, &export, &naming)?;
        // A `--config` file is under every folder's; a folder's own file applies below it only.
        let no_file = ShootFile::default();
        let run_wide_base = if flags.config.is_some() {
            &shoot
        } else {
            &no_file
        };
        let flag_info = ShootInfo {
            event: flags.event.clone(),
            credit: flags.credit.clone(),
            copyright: flags.copyright.clone(),
        };
        let shoot_layers =
            ShootLayers::load(run_wide_base, flag_info, &flags.inputs, &flags.output_dir)?;
        Ok(RunOptions {
            inputs: flags.inputs.clone(),
            output_dir: flags.output_dir.clone(),
            export,
            export_name,
            crop: (crop.name, crop.preset),
            derivative_crops,
            tone: Arc::new(tone),
            template,
            jobs: flags.jobs,
            max_megapixels: flags.max_megapixels,
            shoot: ShootInfo {
                event: flags.event.clone().or(shoot.event),
                credit: flags.credit.clone().or(shoot.credit),
                copyright: flags.copyright.clone().or(shoot.copyright),
            },
            metadata_policy: flags.metadata_policy,
            detect_faces: flags.faces,
            rerun: if flags.force {
                RerunPolicy::RedoAll
            } else {
                RerunPolicy::SkipCurrent
            },
            naming,
            shoot_file,
            biometrics: !flags.no_biometrics,
            shoot_layers,
        })
    }
}

/// A preset the shoot file names but that cannot be found is the shoot file's mistake (its
/// line is given); one given by a flag is not.
fn blame(shoot: &ShootFile, flag: &Option<String>, key: &str, error: ConfigError) -> ConfigError {
    if flag.is_none() {
        shoot.blame(key, error)
    } else {
        error
    }
}

/// The run's file-name template, and each derivative's own, checked against the names' columns
/// and the derivatives' formats.
fn checked_template(
    template: &str,
    export: &crate::presets::ExportPreset,
    naming: &NamingConfig,
) -> Result<NameTemplate, ConfigError> {
    let columns = naming
        .source
        .as_ref()
        .map(|source| source.columns())
        .unwrap_or_default();
    for derivative in &export.derivatives {
        if let Some(own) = &derivative.template {
            NameTemplate::parse_with_columns(own, &columns)?;
        }
        check_template_extension(
            &derivative.name,
            derivative.format,
            derivative.template.as_deref().unwrap_or(template),
        )?;
    }
    NameTemplate::parse_with_columns(template, &columns)
}
