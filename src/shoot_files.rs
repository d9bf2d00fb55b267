//! Shoot files per folder and per camera, like `.editorconfig`: a `headshot.toml` in any folder
//! of the shoot applies to the photos below it, over its parent folder's, key by key; a
//! `[camera."SERIAL"]` (or `[camera."Make Model"]`) table applies to one camera's photos
//! wherever they are, over the folders'; flags apply over all.
//!
//! What is per folder or per camera: `credit`, `copyright` and `event` (per folder), `credit`,
//! `copyright` and `clock_offset` (per camera). Everything else (crop, tone, export, template,
//! names, slates, caption) stays run-wide: it comes from `--config` or the first input folder's
//! `headshot.toml`, as before; in a nested file those keys are ignored.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ConfigError;
use crate::exif_info::ExifInfo;
use crate::plan::ShootInfo;
use crate::presets::ShootFile;

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
        inputs: &[PathBuf],
        output_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let mut layers = ShootLayers {
            flags,
            base: info_of(base),
            cameras: base.camera.clone(),
            ..ShootLayers::default()
        };
        let skip = fs::canonicalize(output_dir).ok();
        let mut found = Vec::new();
        for input in inputs.iter().filter(|input| input.is_dir()) {
            find_shoot_files(input, skip.as_deref(), &mut found)?;
        }
        found.sort();
        for path in found {
            let file = ShootFile::load(&path)?;
            for (camera, settings) in &file.camera {
                let slot = layers.cameras.entry(camera.clone()).or_default();
                merge_camera(slot, settings);
            }
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            layers.folders.insert(folder, info_of(&file));
            layers.files.push(path);
        }
        Ok(layers)
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
