//! `headshot inspect`: what headshot sees in one photo, without writing anything.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decode;
use crate::discover::ImageFormat;
use crate::exif_info::{read_exif, ExifInfo};
use crate::names::{PhotoAssignment, Role};
use crate::orient;

/// Everything `inspect` reports for one file.
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub file: String,
    pub format: Option<ImageFormat>,
    pub bytes: u64,
    /// Stored pixel size, as in the file.
    pub stored_width: Option<u32>,
    pub stored_height: Option<u32>,
    /// Pixel size after applying the orientation.
    pub upright_width: Option<u32>,
    pub upright_height: Option<u32>,
    pub orientation: u8,
    pub orientation_meaning: &'static str,
    pub capture_time: Option<String>,
    pub camera: Option<String>,
    /// Which camera body: serial number, else make, model and folder (see `ExifInfo::camera_id`).
    pub camera_id: String,
    pub lens: Option<String>,
    pub exposure_time: Option<String>,
    pub f_number: Option<f64>,
    pub iso: Option<u32>,
    pub focal_length: Option<f64>,
    pub artist: Option<String>,
    pub copyright: Option<String>,
    #[serde(skip)]
    pub exif: ExifInfo,
    pub warnings: Vec<String>,
    /// Why the file could not be read as an image, if it could not.
    pub error: Option<String>,
    /// Faces and the crop each preset makes (`faces`, `crops`), when detection ran.
    #[serde(flatten)]
    pub face_analysis: Option<crate::face_overlay::FaceAnalysis>,
    /// With names: who the photo is assigned to, and by which rule and row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naming: Option<PhotoAssignment>,
}

/// What an EXIF orientation value asks a viewer to do.
pub fn orientation_meaning(orientation: u8) -> &'static str {
    match orientation {
        2 => "mirrored horizontally",
        3 => "rotated 180",
        4 => "mirrored vertically",
        5 => "mirrored horizontally, rotated 270 clockwise",
        6 => "rotated 90 clockwise",
        7 => "mirrored horizontally, rotated 90 clockwise",
        8 => "rotated 270 clockwise",
        _ => "upright",
    }
}

/// Inspects one file. I/O problems and undecodable headers are reported inside the result.
pub fn inspect(path: &Path) -> Inspection {
    let mut inspection = Inspection {
        file: path.display().to_string(),
        format: None,
        bytes: 0,
        stored_width: None,
        stored_height: None,
        upright_width: None,
        upright_height: None,
        orientation: 1,
        orientation_meaning: "upright",
        capture_time: None,
        camera: None,
        camera_id: String::new(),
        lens: None,
        exposure_time: None,
        f_number: None,
        iso: None,
        focal_length: None,
        artist: None,
        copyright: None,
        exif: ExifInfo::default(),
        warnings: Vec::new(),
        error: None,
        face_analysis: None,
        naming: None,
    };
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            inspection.error = Some(format!("cannot read file: {error}"));
            return inspection;
        }
    };
    inspection.bytes = bytes.len() as u64;
    inspection.format = ImageFormat::sniff(&bytes);
    let read = read_exif(&bytes);
    inspection.orientation = read.info.orientation;
    inspection.orientation_meaning = orientation_meaning(read.info.orientation);
    inspection.capture_time = read.info.capture_time.as_ref().map(|time| time.iso8601());
    inspection.camera = read.info.camera();
    inspection.camera_id = read.info.camera_id(path.parent().unwrap_or(Path::new("")));
    inspection.warnings = read.warnings;
    inspection.lens = read.info.lens.clone();
    inspection.exposure_time = read.info.exposure_time.clone();
    inspection.f_number = read.info.f_number;
    inspection.iso = read.info.iso;
    inspection.focal_length = read.info.focal_length;
    inspection.artist = read.info.artist.clone();
    inspection.copyright = read.info.copyright.clone();
    inspection.exif = read.info;
    match inspection.format {
        None if bytes.is_empty() => inspection.error = Some("file is empty (0 bytes)".to_string()),
        None => inspection.error = Some("not a JPEG, PNG or TIFF image".to_string()),
        Some(format) => match decode::probe_size(&bytes, format) {
            Ok(stored) => {
                let upright = orient::upright_size(stored, inspection.orientation);
                inspection.stored_width = Some(stored.0);
                inspection.stored_height = Some(stored.1);
                inspection.upright_width = Some(upright.0);
                inspection.upright_height = Some(upright.1);
            }
            Err(error) => inspection.error = Some(error.to_string()),
        },
    }
    inspection
}

impl Inspection {
    /// Human-readable lines, as `headshot inspect` prints them.
    pub fn to_text(&self) -> String {
        let mut lines = vec![self.file.clone()];
        let mut line = |label: &str, value: String| lines.push(format!("  {label:<13}{value}"));
        let format = self
            .format
            .map(|format| format!("{format:?}").to_uppercase())
            .unwrap_or_else(|| "unknown".to_string());
        line("format", format!("{format}, {} bytes", self.bytes));
        if let (Some(w), Some(h), Some(uw), Some(uh)) = (
            self.stored_width,
            self.stored_height,
            self.upright_width,
            self.upright_height,
        ) {
            line("size", format!("{w}x{h} stored, {uw}x{uh} upright"));
        }
        line(
            "orientation",
            format!("{} ({})", self.orientation, self.orientation_meaning),
        );
        line(
            "captured",
            self.capture_time.clone().unwrap_or_else(|| "-".to_string()),
        );
        line(
            "camera",
            self.camera.clone().unwrap_or_else(|| "-".to_string()),
        );
        line("camera id", self.camera_id.clone());
        line(
            "lens",
            self.exif.lens.clone().unwrap_or_else(|| "-".to_string()),
        );
        let mut exposure = Vec::new();
        if let Some(time) = &self.exif.exposure_time {
            exposure.push(format!("{time} s"));
        }
        if let Some(f_number) = self.exif.f_number {
            exposure.push(format!("f/{f_number:.1}"));
        }
        if let Some(iso) = self.exif.iso {
            exposure.push(format!("ISO {iso}"));
        }
        if let Some(focal) = self.exif.focal_length {
            exposure.push(format!("{focal:.0} mm"));
        }
        line(
            "exposure",
            if exposure.is_empty() {
                "-".to_string()
            } else {
                exposure.join(", ")
            },
        );
        if let Some(artist) = &self.exif.artist {
            line("artist", artist.clone());
        }
        if let Some(copyright) = &self.exif.copyright {
            line("copyright", copyright.clone());
        }
        if let Some(analysis) = &self.face_analysis {
            if analysis.faces.is_empty() {
                line("faces", "none found".to_string());
            }
            for face in &analysis.faces {
                let [x, y, width, height] = face.bbox;
                line(
                    "face",
                    format!(
                        "{width:.0}x{height:.0} at ({x:.0}, {y:.0}), score {:.2}, eyes ({:.0}, {:.0}) ({:.0}, {:.0})",
                        face.score, face.eyes[0][0], face.eyes[0][1], face.eyes[1][0], face.eyes[1][1]
                    ),
                );
            }
            for crop in &analysis.crops {
                let rect = &crop.crop;
                let mut text = format!(
                    "{}: {}x{} at ({}, {}) by {}",
                    crop.preset, rect.width, rect.height, rect.x, rect.y, rect.anchor
                );
                if rect.rotation_degrees.abs() > 1e-9 {
                    text.push_str(&format!(", turned {:.1}°", rect.rotation_degrees));
                }
                if let Some(reason) = &crop.needs_review {
                    text.push_str(&format!(" (review: {reason})"));
                }
                line("crop", text);
            }
        }
        if let Some(naming) = &self.naming {
            let person = naming.person.as_ref().map(|person| {
                let extra: Vec<String> = person
                    .extra
                    .iter()
                    .filter(|(_, value)| !value.is_empty())
                    .map(|(column, value)| format!("{column}: {value}"))
                    .collect();
                if extra.is_empty() {
                    person.name.clone()
                } else {
                    format!("{} ({})", person.name, extra.join(", "))
                }
            });
            match naming.role {
                Role::Slate => {
                    let announces = person.unwrap_or_else(|| "nobody in the roster".to_string());
                    line("role", format!("slate, announcing {announces}"));
                }
                Role::Rejected => line("role", "rejected by a correction".to_string()),
                Role::Portrait => {
                    line("person", person.unwrap_or_else(|| "-".to_string()));
                    if let Some(seq) = naming.person_seq {
                        line("person seq", seq.to_string());
                    }
                }
            }
            if let Some(by) = &naming.assigned_by {
                line("assigned by", by.to_string());
            }
            if let Some(unnamed) = &naming.unnamed {
                line("unnamed", unnamed.to_string());
            }
        }
        for warning in &self.warnings {
            line("warning", warning.clone());
        }
        if let Some(error) = &self.error {
            line("error", error.clone());
        }
        lines.join("\n")
    }
}

/// The shoot `inspect` names a file within when not told: the file's own folder. Sheets name
/// files relative to the shoot, so photos in subfolders need `--shoot` pointing at its root.
pub fn default_shoot_folder(file: &Path) -> PathBuf {
    file.parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}
