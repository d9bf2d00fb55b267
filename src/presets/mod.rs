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

/// A mistake in an export preset: the key it is about (`derivative.1.quality`, for the line)
/// and what is wrong, naming the derivative.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportProblem {
    pub key: String,
    pub message: String,
}

impl ExportPreset {
    /// Checks values a photographer could get wrong; errors name the derivative and key.
    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|problem| problem.message)
    }

    /// Like [`ExportPreset::validate`], also giving the key path of the mistake.
    pub fn check(&self) -> Result<(), ExportProblem> {
        if self.derivatives.is_empty() {
            return Err(ExportProblem {
                key: "derivative".to_string(),
                message: "needs at least one [[derivative]]".to_string(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (index, derivative) in self.derivatives.iter().enumerate() {
            let name = &derivative.name;
            let problem = |key: &str, message: String| ExportProblem {
                key: format!("derivative.{index}.{key}"),
                message: format!("derivative {name:?}: {message}"),
            };
            if !seen.insert(name.clone()) {
                return Err(problem("name", "is defined twice".to_string()));
            }
            derivative
                .check()
                .map_err(|(key, message)| problem(key, message))?;
        }
        Ok(())
    }
}

impl DerivativeSpec {
    /// One derivative's own values: the key at fault and why.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let name = &self.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err((
                "name",
                "a name may use only letters, digits, '-' and '_'".to_string(),
            ));
        }
        if !(1..=100).contains(&self.quality) {
            return Err((
                "quality",
                format!(
                    "quality = {} is out of range; allowed 1..=100",
                    self.quality
                ),
            ));
        }
        if !(1..=self.quality).contains(&self.min_quality) {
            return Err((
                "min_quality",
                format!(
                    "min_quality = {} is out of range; allowed 1..=quality ({})",
                    self.min_quality, self.quality
                ),
            ));
        }
        if let Some(max_bytes) = self.max_bytes.filter(|&bytes| bytes < MIN_MAX_BYTES) {
            return Err((
                "max_bytes",
                format!("max_bytes = {max_bytes} is too small; allowed {MIN_MAX_BYTES} or more (the metadata alone takes a few kB)"),
            ));
        }
        if self.format == OutputFormat::Webp && self.chroma != Chroma::Quarter {
            return Err((
                "chroma",
                format!(
                    "lossy WebP always stores colour at 4:2:0; remove chroma = \"{}\" or use format = \"jpeg\" or \"avif\"",
                    self.chroma.name()
                ),
            ));
        }
        self.check_size()
    }

    fn check_size(&self) -> Result<(), (&'static str, String)> {
        let sides = 16..=16384;
        match (self.long_edge, self.size) {
            (Some(_), Some(_)) => Err((
                "size",
                "give either long_edge or size, not both".to_string(),
            )),
            (Some(edge), None) if !sides.contains(&edge) => Err((
                "long_edge",
                format!("long_edge = {edge} is out of range; allowed 16..=16384"),
            )),
            (None, Some([w, h])) if !sides.contains(&w) || !sides.contains(&h) => Err((
                "size",
                format!("size = [{w}, {h}] is out of range; each side 16..=16384"),
            )),
            _ => Ok(()),
        }
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
    preset.check().map_err(|problem| ConfigError::Preset {
        file: origin.to_string(),
        line: key_line(text, &problem.key),
        message: problem.message,
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
                ":3:",
                "quality = 0",
            ),
            (
                write(
                    "second.toml",
                    "[[derivative]]\nname = \"a\"\nquality = 80\n\n[[derivative]]\nname = \"b\"\n# small\nmax_bytes = 10\n",
                ),
                "export",
                ":8:",
                "derivative \"b\": max_bytes = 10",
            ),
            (
                write(
                    "twice.toml",
                    "[[derivative]]\nname = \"a\"\n[[derivative]]\nname = \"a\"\n",
                ),
                "export",
                ":4:",
                "defined twice",
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
        assert!(error.to_string().starts_with("x.toml:3:"), "{error}");
        let error = parse_export(
            "x.toml",
            "[[derivative]]\nname = \"a\"\n\n[[derivative]]\nname = \"b\"\nsize = [8, 8]\n",
        )
        .unwrap_err();
        assert!(error.to_string().starts_with("x.toml:6:"), "{error}");
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
    /// Photo Mechanic code replacements (relative to the shoot file).
    pub codes: Option<String>,
    /// The file this was read from and its text, for errors about the files it names.
    #[serde(skip)]
    pub origin: Option<(std::path::PathBuf, String)>,
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
        let shoot: ShootFile = toml::from_str(&text).map_err(|error| ConfigError::Preset {
            file: path.display().to_string(),
            line: error.span().map(|span| line_of(&text, span.start)),
            message: error.message().trim().to_string(),
        })?;
        Ok(ShootFile {
            origin: Some((path.to_path_buf(), text)),
            ..shoot
        })
    }

    /// An error about the preset or file that `key` of this shoot file names (missing, unknown)
    /// as an error of the shoot file, at the key's line: `headshot.toml:3: export = "x.toml": ...`.
    /// Errors inside the named file already name that file and are returned as they are.
    pub fn blame(&self, key: &str, error: ConfigError) -> ConfigError {
        let Some((path, text)) = &self.origin else {
            return error;
        };
        if matches!(error, ConfigError::Preset { .. }) {
            return error;
        }
        let value = toml::from_str::<toml::Table>(text)
            .ok()
            .and_then(|table| table.get(key).map(ToString::to_string));
        let Some(value) = value else {
            return error;
        };
        ConfigError::Preset {
            file: path.display().to_string(),
            line: key_line(text, key),
            message: format!("{key} = {value}: {error}"),
        }
    }
}

#[cfg(test)]
mod shoot_file_tests {
    use super::*;

    #[test]
    fn a_preset_the_shoot_file_names_but_cannot_be_found_names_the_shoot_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("headshot.toml");
        std::fs::write(&path, "event = \"RustConf\"\nexport = \"x.toml\"\n").unwrap();
        let shoot = ShootFile::load(&path).unwrap();
        let missing = Registry::default()
            .export_relative("x.toml", folder.path())
            .unwrap_err();
        let message = shoot.blame("export", missing).to_string();
        let expected = format!("{}:2: export = \"x.toml\": ", path.display());
        assert!(message.starts_with(&expected), "{message}");
        assert!(message.contains("x.toml: "), "{message}");
        // Not set in the file: the error is not the file's.
        let unknown = Registry::default().tone("nope", folder.path()).unwrap_err();
        let kept = unknown.to_string();
        assert_eq!(shoot.blame("tone", unknown).to_string(), kept);
    }
}
