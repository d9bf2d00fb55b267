//! Presets as TOML: built-ins embedded in the binary, user files by path or `--presets DIR`.
//!
//! The registry finds a preset by name or path, resolves `extends` by merging TOML tables
//! (the child's keys win, nested tables merge), and reports every mistake with the file,
//! the key, the line where it can, and what is allowed.

mod registry;

use serde::{Deserialize, Serialize};

pub use registry::{key_line, NamedTone, PresetKind, PresetListing, Registry, Resolved};

use crate::encode::{Chroma, Effort, EncodeSettings, OutputFormat};
use crate::error::ConfigError;

/// Built-in export presets: (name, TOML).
pub const BUILTIN_EXPORT_PRESETS: &[(&str, &str)] = &[
    ("web", include_str!("../../presets/export/web.toml")),
    ("gallery", include_str!("../../presets/export/gallery.toml")),
];

/// Smallest `max_bytes` accepted: below this the embedded metadata and profile leave no room.
const MIN_MAX_BYTES: u64 = 4096;

/// A set of named derivatives written for every photo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportPreset {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub extends: Option<String>,
    #[serde(rename = "derivative", default)]
    pub derivatives: Vec<DerivativeSpec>,
}

/// One output per photo: its size, framing and encoding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DerivativeSpec {
    pub name: String,
    /// Fit inside a square of this many pixels.
    #[serde(default)]
    pub long_edge: Option<u32>,
    /// Exact `[width, height]`; the crop takes this aspect.
    #[serde(default)]
    pub size: Option<[u32; 2]>,
    /// Crop preset for this derivative instead of the shoot's.
    #[serde(default)]
    pub crop: Option<String>,
    /// `jpeg` (default), `webp` or `avif`; the `{ext}` of the file name follows it.
    #[serde(default)]
    pub format: OutputFormat,
    #[serde(default = "default_quality")]
    pub quality: u8,
    /// Upload limit: the encoder lowers the quality (not below `min_quality`) until the file fits.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Lowest quality the `max_bytes` search may use.
    #[serde(default = "default_min_quality")]
    pub min_quality: u8,
    #[serde(default)]
    pub chroma: Chroma,
    #[serde(default = "default_true")]
    pub progressive: bool,
    #[serde(default)]
    pub effort: Effort,
    /// File-name template for this derivative instead of the shoot's.
    #[serde(default)]
    pub template: Option<String>,
}

fn default_quality() -> u8 {
    85
}

/// Below about 40 JPEG blocking shows on skin; a file that cannot fit above it is reported instead.
fn default_min_quality() -> u8 {
    40
}

fn default_true() -> bool {
    true
}

impl DerivativeSpec {
    pub fn encode_settings(&self) -> EncodeSettings {
        EncodeSettings {
            format: self.format,
            quality: self.quality,
            chroma: self.chroma,
            progressive: self.progressive,
            effort: self.effort,
        }
    }

    /// Output size for a crop of `(width, height)` source pixels, never upscaling.
    pub fn output_size(&self, (width, height): (u32, u32)) -> (u32, u32) {
        match (self.size, self.long_edge) {
            (Some([want_width, want_height]), _) => {
                // The crop already has this aspect; shrink to it, or keep the crop's size if smaller.
                if width >= want_width && height >= want_height {
                    (want_width, want_height)
                } else {
                    let scale =
                        (width as f64 / want_width as f64).min(height as f64 / want_height as f64);
                    (
                        ((want_width as f64 * scale).round() as u32).max(1),
                        ((want_height as f64 * scale).round() as u32).max(1),
                    )
                }
            }
            (None, Some(long_edge)) => crate::resize::fit_long_edge(width, height, long_edge),
            (None, None) => (width, height),
        }
    }
}

impl ExportPreset {
    /// Checks values a photographer could get wrong; errors name the derivative and key.
    pub fn validate(&self) -> Result<(), String> {
        if self.derivatives.is_empty() {
            return Err("needs at least one [[derivative]]".to_string());
        }
        let mut seen = std::collections::HashSet::new();
        for derivative in &self.derivatives {
            let name = &derivative.name;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "derivative name {name:?}: use letters, digits, '-' and '_' only"
                ));
            }
            if !seen.insert(name.clone()) {
                return Err(format!("derivative {name:?} is defined twice"));
            }
            if !(1..=100).contains(&derivative.quality) {
                return Err(format!(
                    "derivative {name:?}: quality = {} is out of range; allowed 1..=100",
                    derivative.quality
                ));
            }
            if !(1..=derivative.quality).contains(&derivative.min_quality) {
                return Err(format!(
                    "derivative {name:?}: min_quality = {} is out of range; allowed 1..=quality ({})",
                    derivative.min_quality, derivative.quality
                ));
            }
            if let Some(max_bytes) = derivative.max_bytes {
                if max_bytes < MIN_MAX_BYTES {
                    return Err(format!(
                        "derivative {name:?}: max_bytes = {max_bytes} is too small; allowed {MIN_MAX_BYTES} or more (the metadata alone takes a few kB)"
                    ));
                }
            }
            if derivative.format == OutputFormat::Webp && derivative.chroma != Chroma::Quarter {
                return Err(format!(
                    "derivative {name:?}: lossy WebP always stores colour at 4:2:0; remove chroma = \"{}\" or use format = \"jpeg\" or \"avif\"",
                    derivative.chroma.name()
                ));
            }
            match (derivative.long_edge, derivative.size) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "derivative {name:?}: give either long_edge or size, not both"
                    ))
                }
                (Some(edge), None) if !(16..=16384).contains(&edge) => {
                    return Err(format!(
                        "derivative {name:?}: long_edge = {edge} is out of range; allowed 16..=16384"
                    ))
                }
                (None, Some([w, h])) if !(16..=16384).contains(&w) || !(16..=16384).contains(&h) => {
                    return Err(format!(
                        "derivative {name:?}: size = [{w}, {h}] is out of range; each side 16..=16384"
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Loads a built-in export preset by name.
pub fn builtin_export(name: &str) -> Result<ExportPreset, ConfigError> {
    Registry::default()
        .export(name)
        .map(|resolved| resolved.preset)
}

/// Parses and validates an export preset's TOML.
pub fn parse_export(origin: &str, text: &str) -> Result<ExportPreset, ConfigError> {
    let preset: ExportPreset = toml::from_str(text).map_err(|error| ConfigError::Preset {
        file: origin.to_string(),
        line: error.span().map(|span| line_of(text, span.start)),
        message: error.message().to_string(),
    })?;
    preset.validate().map_err(|message| ConfigError::Preset {
        file: origin.to_string(),
        line: None,
        message,
    })?;
    Ok(preset)
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    use crate::tone::TonePreset;

    #[test]
    fn every_builtin_of_every_kind_resolves() {
        let registry = Registry::default();
        for kind in PresetKind::ALL {
            for (name, _) in kind.builtins() {
                match kind {
                    PresetKind::Crop => drop(registry.crop(name, Path::new(".")).unwrap()),
                    PresetKind::Tone => drop(registry.tone(name, Path::new(".")).unwrap()),
                    PresetKind::Export => drop(registry.export(name).unwrap()),
                }
            }
        }
    }

    #[test]
    fn extends_merges_over_the_builtin() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(folder.path().join("tone")).unwrap();
        std::fs::write(
            folder.path().join("tone/brighter.toml"),
            "description = \"warm, a bit brighter\"\nextends = \"warm\"\nexposure = 0.5\n",
        )
        .unwrap();
        let registry = Registry::new(vec![folder.path().to_path_buf()]);
        let resolved = registry
            .resolve::<TonePreset>(PresetKind::Tone, "brighter", Path::new("."))
            .unwrap();
        let warm = registry
            .resolve::<TonePreset>(PresetKind::Tone, "warm", Path::new("."))
            .unwrap();
        assert_eq!(resolved.preset.exposure, 0.5);
        assert_eq!(resolved.preset.white_balance, warm.preset.white_balance);
        assert!(registry
            .list(PresetKind::Tone)
            .iter()
            .any(|l| l.name == "brighter"));
        let shown = registry.show(None, "brighter").unwrap();
        assert!(
            shown.contains("exposure = 0.5") && !shown.contains("extends"),
            "{shown}"
        );
    }

    #[test]
    fn preset_mistakes_name_file_key_and_line() {
        let folder = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = folder.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let registry = Registry::default();
        let here = Path::new(".");
        let cases = [
            (
                write("unknown.toml", "exposure = 0.2\ncolour = 3\n"),
                "tone",
                ":2:",
                "colour",
            ),
            (
                write("type.toml", "\nexposure = \"bright\"\n"),
                "tone",
                ":2:",
                "exposure",
            ),
            (
                write("range.toml", "description = \"x\"\nexposure = 12\n"),
                "tone",
                ":2:",
                "exposure = 12",
            ),
            (
                write("nolut.toml", "lut = \"missing.cube\"\n"),
                "tone",
                ":1:",
                "missing.cube",
            ),
            (
                write("badcrop.toml", "aspect = \"4:5\"\nzoom = 0.5\n"),
                "crop",
                ":2:",
                "zoom",
            ),
            (
                write("badanchor.toml", "anchor = \"middle\"\n"),
                "crop",
                ":1:",
                "middle",
            ),
            (
                write(
                    "badexport.toml",
                    "[[derivative]]\nname = \"x\"\nquality = 0\n",
                ),
                "export",
                "",
                "quality = 0",
            ),
            (
                write("cycle.toml", "extends = \"cycle.toml\"\n"),
                "tone",
                "",
                "extends",
            ),
        ];
        for (path, kind, line, expected) in cases {
            let error = match kind {
                "tone" => registry.tone(&path, here).map(|_| ()).unwrap_err(),
                "crop" => registry.crop(&path, here).map(|_| ()).unwrap_err(),
                _ => registry.export(&path).map(|_| ()).unwrap_err(),
            };
            let message = error.to_string();
            assert!(message.starts_with(&path), "{message}");
            assert!(
                message.contains(line),
                "{path}: want line {line}: {message}"
            );
            assert!(
                message.contains(expected),
                "{path}: want {expected}: {message}"
            );
        }
    }

    #[test]
    fn builtin_export_presets_parse() {
        for (name, _) in BUILTIN_EXPORT_PRESETS {
            builtin_export(name).unwrap();
        }
        let web = builtin_export("web").unwrap();
        let names: Vec<_> = web.derivatives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["large", "thumb"]);
        assert_eq!(web.derivatives[0].long_edge, Some(2048));
    }

    #[test]
    fn export_errors_name_the_line_and_key() {
        let error = parse_export(
            "x.toml",
            "[[derivative]]\nname = \"a\"\nlong_edge = \"big\"\n",
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("x.toml:3:"), "{error}");
        let error =
            parse_export("x.toml", "[[derivative]]\nname = \"a\"\nquality = 101\n").unwrap_err();
        assert!(error.to_string().contains("quality = 101"), "{error}");
        let error =
            parse_export("x.toml", "[[derivative]]\nname = \"a\"\ncolour = 1\n").unwrap_err();
        assert!(error.to_string().contains("colour"), "{error}");
        let error =
            parse_export("x.toml", "[[derivative]]\nname = \"a\"\nformat = \"gif\"\n").unwrap_err();
        assert!(error.to_string().contains("gif"), "{error}");
        assert!(error.to_string().contains("webp"), "{error}");
        let error =
            parse_export("x.toml", "[[derivative]]\nname = \"a\"\nmax_bytes = 100\n").unwrap_err();
        assert!(error.to_string().contains("max_bytes = 100"), "{error}");
        let error = parse_export(
            "x.toml",
            "[[derivative]]\nname = \"a\"\nquality = 70\nmin_quality = 80\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("min_quality = 80"), "{error}");
        let error = parse_export(
            "x.toml",
            "[[derivative]]\nname = \"a\"\nformat = \"webp\"\nchroma = \"4:4:4\"\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("4:2:0"), "{error}");
    }

    #[test]
    fn exact_size_never_upscales() {
        let avatar = DerivativeSpec {
            name: "avatar".into(),
            long_edge: None,
            size: Some([512, 512]),
            crop: None,
            format: OutputFormat::Jpeg,
            quality: 85,
            max_bytes: None,
            min_quality: 40,
            chroma: Chroma::Full,
            progressive: true,
            effort: Effort::Fast,
            template: None,
        };
        assert_eq!(avatar.output_size((2000, 2000)), (512, 512));
        assert_eq!(avatar.output_size((300, 300)), (300, 300));
    }
}

/// `headshot.toml` in the shoot folder (or `--config FILE`): what the shoot has in common.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShootFile {
    pub event: Option<String>,
    pub credit: Option<String>,
    pub copyright: Option<String>,
    /// Crop preset name or path (relative to the shoot file).
    pub crop: Option<String>,
    pub tone: Option<String>,
    pub export: Option<String>,
    pub template: Option<String>,
    /// Names sheet (relative to the shoot file).
    pub names: Option<String>,
    /// Roster for QR slates (relative to the shoot file).
    pub roster: Option<String>,
    /// QR slates name the frames after them.
    pub slates: Option<bool>,
    /// `±HH:MM:SS` added to camera times for a `time` sheet.
    pub clock_offset: Option<String>,
    /// Longest time after a `time` entry a photo still belongs to it, e.g. `5m`.
    pub max_gap: Option<String>,
    /// Caption template, e.g. `{name}, {event}`.
    pub caption: Option<String>,
    /// `[camera."SERIAL"]` / `[camera."Make Model"]`: credit, copyright, clock offset per camera.
    #[serde(default)]
    pub camera: std::collections::BTreeMap<String, crate::shoot_files::CameraSettings>,
}

impl ShootFile {
    /// Reads a shoot file; mistakes name the file, the line and the key.
    pub fn load(path: &std::path::Path) -> Result<ShootFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| ConfigError::Preset {
            file: path.display().to_string(),
            line: error.span().map(|span| line_of(&text, span.start)),
            message: error.message().trim().to_string(),
        })
    }
}
