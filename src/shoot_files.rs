//! Shoot files per folder and per camera, like `.editorconfig`: a `headshot.toml` in any folder
//! of the shoot applies to the photos below it, over its parent folder's, key by key; a
//! `[camera."SERIAL"]` (or `[camera."Make Model"]`) table applies to one camera's photos
//! wherever they are, over the folders'; flags apply over all.
//!
//! What is per folder or per camera: `credit`, `copyright`, `event` and `clock_offset` (per
//! folder), `credit`, `copyright` and `clock_offset` (per camera). Everything else (crop, tone,
//! export, template, names, slates, caption) stays run-wide: it comes from `--config` or the
//! first input folder's `headshot.toml`, as before; in a nested file those keys are ignored.
//! Every value keeps where it was set ([`Origin`]), for the manifest and `inspect`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use crate::error::ConfigError;
use crate::exif_info::ExifInfo;
use crate::names::ClockOffset;
use crate::plan::ShootInfo;
use crate::presets::{key_line, ShootFile};

/// The shoot file's name in every folder.
pub const SHOOT_FILE_NAME: &str = "headshot.toml";

/// A `[camera."…"]` table of a shoot file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSettings {
    pub credit: Option<String>,
    pub copyright: Option<String>,
    /// `±HH:MM:SS[.fff]` added to this camera's capture times (the `time` layout).
    pub clock_offset: Option<String>,
}

/// Where a setting's value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key of a shoot file, at its line.
    File { path: PathBuf, line: Option<usize> },
    /// A key of a `[camera."KEY"]` table in a shoot file, at its line.
    CameraTable {
        camera: String,
        path: PathBuf,
        line: Option<usize>,
    },
    /// A command-line flag.
    Flag,
}

impl Origin {
    fn in_file(path: &Path, text: &str, key: &str) -> Origin {
        Origin::File {
            path: path.to_path_buf(),
            line: key_line(text, key),
        }
    }
}

/// `shoot/ted/headshot.toml:2`, `camera table "SN-1" in shoot/headshot.toml:7`, `flag`.
impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |path: &Path, line: &Option<usize>| match line {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        };
        match self {
            Origin::File { path, line } => formatter.write_str(&at(path, line)),
            Origin::CameraTable { camera, path, line } => {
                write!(formatter, "camera table {camera:?} in {}", at(path, line))
            }
            Origin::Flag => formatter.write_str("flag"),
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A setting's value for a photo, and where it was set (`inspect`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingOrigin {
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

/// The per-folder keys, in the order `inspect` lists them.
const FOLDER_KEYS: [&str; 3] = ["event", "credit", "copyright"];

fn info_field<'a>(info: &'a ShootInfo, key: &str) -> Option<&'a String> {
    match key {
        "event" => info.event.as_ref(),
        "credit" => info.credit.as_ref(),
        _ => info.copyright.as_ref(),
    }
}

/// One shoot file's per-folder values, with the file they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FolderFile {
    pub path: PathBuf,
    /// The file's text, to find the line of a key.
    pub text: String,
    pub clock_offset: Option<ClockOffset>,
}

/// A camera table's clock offset, checked, and where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraClockOffset {
    pub offset: ClockOffset,
    pub origin: Origin,
}

/// Every shoot file of a run, layered: run-wide file, folders (outer to inner), camera, flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShootLayers {
    /// `--event`, `--credit`, `--copyright`: over everything.
    pub flags: ShootInfo,
    /// The run-wide shoot file's values, under every folder's.
    pub base: ShootInfo,
    /// Folder (as the photos' paths spell it) -> its `headshot.toml`'s values.
    pub folders: BTreeMap<PathBuf, ShootInfo>,
    /// Camera key (serial number or `Make Model`) -> its table, from every shoot file (a file
    /// read later, deeper in the tree, wins key by key).
    pub cameras: BTreeMap<String, CameraSettings>,
    /// Every shoot file read (settings, never reported as ignored photos).
    pub files: Vec<PathBuf>,
    /// `--clock-offset`: over every file, for every camera (a clock slate still wins).
    pub flag_clock_offset: Option<ClockOffset>,
    /// The `--config` file, under every folder's, when one was given.
    pub base_file: Option<FolderFile>,
    /// Folder -> its shoot file (path, text, clock offset).
    pub folder_files: BTreeMap<PathBuf, FolderFile>,
    /// Camera key -> its table's clock offset (the file read later, deeper, wins).
    pub camera_clock_offsets: BTreeMap<String, CameraClockOffset>,
    /// (camera key, `credit` or `copyright`) -> where its table set it.
    pub camera_origins: BTreeMap<(String, String), Origin>,
    /// Run-wide settings (crop, tone, export, template, names...) and where each was set.
    pub run_wide: Vec<SettingOrigin>,
}

fn info_of(file: &ShootFile) -> ShootInfo {
    ShootInfo {
        event: file.event.clone(),
        credit: file.credit.clone(),
        copyright: file.copyright.clone(),
    }
}

/// `over`'s values where it has them, else `under`'s.
fn overlay(under: &mut ShootInfo, over: &ShootInfo) {
    for (slot, value) in [
        (&mut under.event, &over.event),
        (&mut under.credit, &over.credit),
        (&mut under.copyright, &over.copyright),
    ] {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
}

impl ShootLayers {
    /// Reads every `headshot.toml` under the input folders (hidden folders and `output_dir`
    /// skipped), over the run-wide `base` file; `flags` go over all.
    pub fn load(
        base: &ShootFile,
        flags: ShootInfo,
        flag_clock_offset: Option<ClockOffset>,
        inputs: &[PathBuf],
        output_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let mut layers = ShootLayers {
            flags,
            flag_clock_offset,
            base: info_of(base),
            ..ShootLayers::default()
        };
        if base.origin.is_some() {
            layers.base_file = Some(layers.add_camera_tables(base)?);
        }
        let skip = fs::canonicalize(output_dir).ok();
        let mut found = Vec::new();
        for input in inputs.iter().filter(|input| input.is_dir()) {
            find_shoot_files(input, skip.as_deref(), &mut found)?;
        }
        found.sort();
        for path in found {
            let file = ShootFile::load(&path)?;
            let folder_file = layers.add_camera_tables(&file)?;
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            layers.folders.insert(folder.clone(), info_of(&file));
            layers.folder_files.insert(folder, folder_file);
            layers.files.push(path);
        }
        Ok(layers)
    }

    /// Merges `file`'s camera tables in (checking their clock offsets) and returns its own
    /// per-folder clock offset, checked.
    fn add_camera_tables(&mut self, file: &ShootFile) -> Result<FolderFile, ConfigError> {
        let (path, text) = file.origin.clone().unwrap_or_default();
        let checked = |key: &str, value: &str| {
            value
                .parse::<ClockOffset>()
                .map_err(|error| ConfigError::Preset {
                    file: path.display().to_string(),
                    line: key_line(&text, key),
                    message: format!("{key}: {error}"),
                })
        };
        for (camera, settings) in &file.camera {
            let slot = self.cameras.entry(camera.clone()).or_default();
            merge_camera(slot, settings);
            for (key, value) in [
                ("credit", &settings.credit),
                ("copyright", &settings.copyright),
            ] {
                if value.is_some() {
                    let origin = Origin::CameraTable {
                        camera: camera.clone(),
                        path: path.clone(),
                        line: key_line(&text, &format!("camera.{camera}.{key}")),
                    };
                    self.camera_origins
                        .insert((camera.clone(), key.to_string()), origin);
                }
            }
            if let Some(value) = &settings.clock_offset {
                let key = format!("camera.{camera}.clock_offset");
                let offset = checked(&key, value)?;
                let origin = Origin::CameraTable {
                    camera: camera.clone(),
                    path: path.clone(),
                    line: key_line(&text, &key),
                };
                let entry = CameraClockOffset { offset, origin };
                self.camera_clock_offsets.insert(camera.clone(), entry);
            }
        }
        let clock_offset = file
            .clock_offset
            .as_deref()
            .map(|value| checked("clock_offset", value))
            .transpose()?;
        Ok(FolderFile {
            path,
            text,
            clock_offset,
        })
    }

    /// The clock offset the shoot files and the flag give a photo's camera, and where it was
    /// set: the `--config` file, under its folders' files (inner over outer), under its
    /// camera's table, under the flag. `None`: no offset set.
    pub fn clock_offset_for(&self, path: &Path, exif: &ExifInfo) -> Option<(ClockOffset, Origin)> {
        if let Some(offset) = self.flag_clock_offset {
            return Some((offset, Origin::Flag));
        }
        if let Some(entry) = self
            .camera_key(exif)
            .and_then(|key| self.camera_clock_offsets.get(key))
        {
            return Some((entry.offset, entry.origin.clone()));
        }
        let has_offset = |file: &&FolderFile| file.clock_offset.is_some();
        let mut chosen = self.base_file.as_ref().filter(has_offset);
        let mut folders: Vec<&Path> = path.ancestors().skip(1).collect();
        folders.reverse();
        for folder in folders {
            if let Some(file) = self.folder_files.get(folder).filter(has_offset) {
                chosen = Some(file);
            }
        }
        let file = chosen?;
        let origin = Origin::in_file(&file.path, &file.text, "clock_offset");
        Some((file.clock_offset?, origin))
    }

    /// Every setting that applies to the photo at `path` and where it was set: the run-wide
    /// ones, then event, credit, copyright and clock offset (`inspect`).
    pub fn origins_for(&self, path: &Path, exif: &ExifInfo) -> Vec<SettingOrigin> {
        let mut origins = self.run_wide.clone();
        let info = self.for_photo(path, exif);
        let mut folders: Vec<&Path> = path.ancestors().skip(1).collect();
        folders.reverse();
        let camera = self.camera_key(exif);
        for key in FOLDER_KEYS {
            let Some(value) = info_field(&info, key) else {
                continue;
            };
            let in_file = |file: &FolderFile| Origin::in_file(&file.path, &file.text, key);
            let mut origin = self
                .base_file
                .as_ref()
                .filter(|_| info_field(&self.base, key).is_some())
                .map(in_file);
            for folder in &folders {
                if self
                    .folders
                    .get(*folder)
                    .and_then(|layer| info_field(layer, key))
                    .is_some()
                {
                    origin = self.folder_files.get(*folder).map(in_file).or(origin);
                }
            }
            if let Some(camera) = camera {
                let table = self
                    .camera_origins
                    .get(&(camera.to_string(), key.to_string()));
                origin = table.cloned().or(origin);
            }
            if info_field(&self.flags, key).is_some() {
                origin = Some(Origin::Flag);
            }
            if let Some(origin) = origin {
                let value = value.clone();
                origins.push(SettingOrigin {
                    key: key.to_string(),
                    value,
                    origin,
                });
            }
        }
        if let Some((offset, origin)) = self.clock_offset_for(path, exif) {
            let value = offset.to_string();
            origins.push(SettingOrigin {
                key: "clock_offset".to_string(),
                value,
                origin,
            });
        }
        origins
    }

    /// The key of the camera table for a photo's EXIF, if any.
    fn camera_key(&self, exif: &ExifInfo) -> Option<&str> {
        self.camera(exif).map(|(key, _)| key)
    }

    /// The camera table for a photo's EXIF: by serial number, else by `Make Model`.
    pub fn camera(&self, exif: &ExifInfo) -> Option<(&str, &CameraSettings)> {
        let make_model = match (&exif.make, &exif.model) {
            (Some(make), Some(model)) => Some(format!("{make} {model}")),
            _ => None,
        };
        [exif.serial.clone(), exif.camera(), make_model]
            .into_iter()
            .flatten()
            .find_map(|key| self.cameras.get_key_value(&key))
            .map(|(key, settings)| (key.as_str(), settings))
    }

    /// The event, credit and copyright for the photo at `path` taken with `exif`'s camera.
    pub fn for_photo(&self, path: &Path, exif: &ExifInfo) -> ShootInfo {
        let mut info = self.base.clone();
        let mut folders: Vec<&Path> = path.ancestors().skip(1).collect();
        folders.reverse();
        for folder in folders {
            if let Some(layer) = self.folders.get(folder) {
                overlay(&mut info, layer);
            }
        }
        if let Some((_, camera)) = self.camera(exif) {
            let layer = ShootInfo {
                event: None,
                credit: camera.credit.clone(),
                copyright: camera.copyright.clone(),
            };
            overlay(&mut info, &layer);
        }
        overlay(&mut info, &self.flags);
        info
    }
}

fn merge_camera(slot: &mut CameraSettings, over: &CameraSettings) {
    for (slot, value) in [
        (&mut slot.credit, &over.credit),
        (&mut slot.copyright, &over.copyright),
        (&mut slot.clock_offset, &over.clock_offset),
    ] {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
}

/// Collects `headshot.toml` files in `folder` and below (not following links).
fn find_shoot_files(
    folder: &Path,
    skip: Option<&Path>,
    found: &mut Vec<PathBuf>,
) -> Result<(), ConfigError> {
    if skip.is_some() && fs::canonicalize(folder).ok().as_deref() == skip {
        return Ok(());
    }
    let entries = fs::read_dir(folder).map_err(|source| ConfigError::Io {
        path: folder.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !hidden {
            find_shoot_files(&entry.path(), skip, found)?;
        } else if kind.is_file() && name == SHOOT_FILE_NAME {
            found.push(entry.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(text: &str) -> ShootInfo {
        ShootInfo {
            credit: Some(text.to_string()),
            ..ShootInfo::default()
        }
    }

    #[test]
    fn inner_folders_over_outer_camera_over_folders_flags_over_all() {
        let mut layers = ShootLayers {
            base: ShootInfo {
                event: Some("PyCon".to_string()),
                ..credit("Desk")
            },
            ..ShootLayers::default()
        };
        layers
            .folders
            .insert(PathBuf::from("shoot/ted"), credit("Ted Leung"));
        layers.cameras.insert(
            "SN-9".to_string(),
            CameraSettings {
                credit: Some("Erich Heine".to_string()),
                ..CameraSettings::default()
            },
        );
        let plain = ExifInfo::default();
        let ted = layers.for_photo(Path::new("shoot/ted/day1/a.jpg"), &plain);
        assert_eq!(ted.credit.as_deref(), Some("Ted Leung"));
        assert_eq!(ted.event.as_deref(), Some("PyCon"));
        let other = layers.for_photo(Path::new("shoot/erich/a.jpg"), &plain);
        assert_eq!(other.credit.as_deref(), Some("Desk"));
        let borrowed = ExifInfo {
            serial: Some("SN-9".to_string()),
            ..ExifInfo::default()
        };
        let by_camera = layers.for_photo(Path::new("shoot/ted/b.jpg"), &borrowed);
        assert_eq!(by_camera.credit.as_deref(), Some("Erich Heine"));
        layers.flags = credit("Flag");
        let flagged = layers.for_photo(Path::new("shoot/ted/b.jpg"), &borrowed);
        assert_eq!(flagged.credit.as_deref(), Some("Flag"));
        assert_eq!(flagged.event.as_deref(), Some("PyCon"));
    }
}
