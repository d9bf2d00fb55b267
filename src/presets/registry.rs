//! Finds presets (a path, then `--presets DIR/<kind>/NAME.toml`, then the built-ins) and resolves `extends`.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{line_of, ExportPreset, BUILTIN_EXPORT_PRESETS};
use crate::crop::{CropPreset, BUILTIN_CROP_PRESETS};
use crate::error::ConfigError;
use crate::tone::{CompiledTone, TonePreset, BUILTIN_TONE_PRESETS};

/// The three kinds of preset, each with its folder name and built-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresetKind {
    Crop,
    Tone,
    Export,
}

impl PresetKind {
    pub const ALL: [PresetKind; 3] = [PresetKind::Crop, PresetKind::Tone, PresetKind::Export];

    /// Folder name under `presets/` and under a `--presets DIR`.
    pub fn folder(self) -> &'static str {
        match self {
            PresetKind::Crop => "crop",
            PresetKind::Tone => "tone",
            PresetKind::Export => "export",
        }
    }

    pub(super) fn builtins(self) -> &'static [(&'static str, &'static str)] {
        match self {
            PresetKind::Crop => BUILTIN_CROP_PRESETS,
            PresetKind::Tone => BUILTIN_TONE_PRESETS,
            PresetKind::Export => BUILTIN_EXPORT_PRESETS,
        }
    }
}

/// A preset's text and where it came from.
#[derive(Debug, Clone)]
struct PresetSource {
    /// The name asked for (the file stem for a path).
    name: String,
    /// For messages: the file path, or `built-in crop preset NAME`.
    origin: String,
    /// Folder that relative paths inside the preset (a `.cube` LUT) are relative to.
    folder: PathBuf,
    text: String,
    builtin: bool,
}

/// A preset after `extends`, with where it came from.
#[derive(Debug, Clone)]
pub struct Resolved<T> {
    pub name: String,
    pub origin: String,
    pub folder: PathBuf,
    pub preset: T,
    /// The merged TOML, as `presets show` prints it.
    pub table: toml::Table,
}

/// A compiled tone preset with its name.
#[derive(Debug)]
pub struct NamedTone {
    pub name: String,
    pub compiled: CompiledTone,
}

impl NamedTone {
    /// What the preset does (see [`CompiledTone::fingerprint`]); its name does not count.
    pub fn fingerprint(&self) -> u64 {
        self.compiled.fingerprint()
    }
}

/// One row of `presets list`.
#[derive(Debug, Clone)]
pub struct PresetListing {
    pub kind: PresetKind,
    pub name: String,
    pub description: String,
    pub origin: String,
}

/// Finds and resolves presets; user folders shadow built-ins of the same name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub user_folders: Vec<PathBuf>,
}

/// How deep `extends` chains may go (this also stops cycles).
const MAX_EXTENDS_DEPTH: usize = 8;

fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Registry {
    pub fn new(user_folders: Vec<PathBuf>) -> Self {
        Self { user_folders }
    }

    /// Whether `reference` names a file rather than a preset.
    fn is_path(reference: &str) -> bool {
        reference.ends_with(".toml") || reference.contains('/') || reference.contains('\\')
    }

    fn find(
        &self,
        kind: PresetKind,
        reference: &str,
        relative_to: &Path,
        skip_user: bool,
    ) -> Result<PresetSource, ConfigError> {
        if Self::is_path(reference) {
            let path = relative_to.join(reference);
            return Ok(PresetSource {
                name: path
                    .file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                origin: path.display().to_string(),
                folder: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                text: read_file(&path)?,
                builtin: false,
            });
        }
        if !skip_user {
            for folder in &self.user_folders {
                let path = folder.join(kind.folder()).join(format!("{reference}.toml"));
                if path.is_file() {
                    return Ok(PresetSource {
                        name: reference.to_string(),
                        origin: path.display().to_string(),
                        folder: folder.join(kind.folder()),
                        text: read_file(&path)?,
                        builtin: false,
                    });
                }
            }
        }
        match kind.builtins().iter().find(|(name, _)| *name == reference) {
            Some((name, text)) => Ok(PresetSource {
                name: name.to_string(),
                origin: format!("built-in {} preset {name}", kind.folder()),
                folder: PathBuf::from("."),
                text: text.to_string(),
                builtin: true,
            }),
            None => {
                let known: Vec<String> = self
                    .list(kind)
                    .into_iter()
                    .map(|listing| listing.name)
                    .collect();
                Err(ConfigError::Usage(format!(
                    "unknown {} preset {reference:?}; known: {} (or give a path to a .toml file)",
                    kind.folder(),
                    known.join(", ")
                )))
            }
        }
    }

    /// Reads a preset, checks its own keys and types (so the line is right), then merges `extends`.
    fn resolve_table<T: DeserializeOwned>(
        &self,
        kind: PresetKind,
        reference: &str,
        relative_to: &Path,
        skip_user: bool,
        depth: usize,
    ) -> Result<(PresetSource, toml::Table), ConfigError> {
        let source = self.find(kind, reference, relative_to, skip_user)?;
        let preset_error = |line: Option<usize>, message: String| ConfigError::Preset {
            file: source.origin.clone(),
            line,
            message,
        };
        let span_line =
            |error: &toml::de::Error| error.span().map(|span| line_of(&source.text, span.start));
        let described = |error: &toml::de::Error| describe_toml_error(&source.text, error);
        let mut table: toml::Table = toml::from_str(&source.text)
            .map_err(|error| preset_error(span_line(&error), described(&error)))?;
        if let Err(error) = toml::from_str::<T>(&source.text) {
            return Err(preset_error(span_line(&error), described(&error)));
        }
        let Some(parent) = table.remove("extends") else {
            return Ok((source, table));
        };
        let extends_line = key_line(&source.text, "extends");
        let Some(parent_name) = parent.as_str() else {
            return Err(preset_error(
                extends_line,
                "extends must be a preset name or path".to_string(),
            ));
        };
        if depth >= MAX_EXTENDS_DEPTH {
            return Err(preset_error(
                extends_line,
                format!("extends chain is deeper than {MAX_EXTENDS_DEPTH} presets (a cycle?)"),
            ));
        }
        // A user preset that extends its own name builds on the built-in of that name.
        let parent_skips_user = source.builtin || parent_name == source.name;
        let (_, mut merged) = self.resolve_table::<T>(
            kind,
            parent_name,
            &source.folder,
            parent_skips_user,
            depth + 1,
        )?;
        merge_tables(&mut merged, table);
        Ok((source, merged))
    }

    pub(super) fn resolve<T: DeserializeOwned>(
        &self,
        kind: PresetKind,
        reference: &str,
        relative_to: &Path,
    ) -> Result<Resolved<T>, ConfigError> {
        let (source, table) = self.resolve_table::<T>(kind, reference, relative_to, false, 0)?;
        let preset = T::deserialize(toml::Value::Table(table.clone())).map_err(|error| {
            ConfigError::Preset {
                file: source.origin.clone(),
                line: None,
                message: error.message().to_string(),
            }
        })?;
        Ok(Resolved {
            name: source.name,
            origin: source.origin,
            folder: source.folder,
            preset,
            table,
        })
    }

    /// The first range error as a ConfigError, with the line of its key in the named file.
    fn range_error(
        &self,
        kind: PresetKind,
        reference: &str,
        relative_to: &Path,
        origin: &str,
        key: &str,
        message: String,
    ) -> ConfigError {
        let text = self
            .find(kind, reference, relative_to, false)
            .ok()
            .map(|source| source.text);
        ConfigError::Preset {
            file: origin.to_string(),
            line: text.as_deref().and_then(|text| key_line(text, key)),
            message,
        }
    }

    /// A crop preset by name or path, validated.
    pub fn crop(
        &self,
        reference: &str,
        relative_to: &Path,
    ) -> Result<Resolved<CropPreset>, ConfigError> {
        let resolved = self.resolve::<CropPreset>(PresetKind::Crop, reference, relative_to)?;
        if let Err(errors) = resolved.preset.validate() {
            let first = &errors[0];
            return Err(self.range_error(
                PresetKind::Crop,
                reference,
                relative_to,
                &resolved.origin,
                &first.key,
                first.to_string(),
            ));
        }
        Ok(resolved)
    }

    /// A tone preset by name or path, validated and compiled (its `.cube` loaded).
    pub fn tone(&self, reference: &str, relative_to: &Path) -> Result<NamedTone, ConfigError> {
        Ok(self.tone_resolved(reference, relative_to)?.1)
    }

    fn tone_resolved(
        &self,
        reference: &str,
        relative_to: &Path,
    ) -> Result<(Resolved<TonePreset>, NamedTone), ConfigError> {
        let resolved = self.resolve::<TonePreset>(PresetKind::Tone, reference, relative_to)?;
        if let Err(errors) = resolved.preset.validate() {
            let first = &errors[0];
            return Err(self.range_error(
                PresetKind::Tone,
                reference,
                relative_to,
                &resolved.origin,
                &first.key,
                first.message.clone(),
            ));
        }
        let compiled =
            CompiledTone::compile(&resolved.preset, &resolved.folder).map_err(|error| {
                self.range_error(
                    PresetKind::Tone,
                    reference,
                    relative_to,
                    &resolved.origin,
                    "lut",
                    error.to_string(),
                )
            })?;
        let named = NamedTone {
            name: resolved.name.clone(),
            compiled,
        };
        Ok((resolved, named))
    }

    /// An export preset by name or path, validated.
    pub fn export(&self, reference: &str) -> Result<Resolved<ExportPreset>, ConfigError> {
        self.export_relative(reference, Path::new(""))
    }

    pub fn export_relative(
        &self,
        reference: &str,
        relative_to: &Path,
    ) -> Result<Resolved<ExportPreset>, ConfigError> {
        let resolved = self.resolve::<ExportPreset>(PresetKind::Export, reference, relative_to)?;
        if let Err(problem) = resolved.preset.check() {
            return Err(self.range_error(
                PresetKind::Export,
                reference,
                relative_to,
                &resolved.origin,
                &problem.key,
                problem.message,
            ));
        }
        Ok(resolved)
    }

    /// User and built-in presets of one kind, user ones first (they shadow built-ins).
    pub fn list(&self, kind: PresetKind) -> Vec<PresetListing> {
        let describe = |text: &str| {
            toml::from_str::<toml::Table>(text)
                .ok()
                .and_then(|table| {
                    table
                        .get("description")
                        .and_then(|d| d.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_default()
        };
        let mut listings = Vec::new();
        for folder in &self.user_folders {
            let Ok(entries) = std::fs::read_dir(folder.join(kind.folder())) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
            paths.sort();
            for path in paths
                .into_iter()
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            {
                listings.push(PresetListing {
                    kind,
                    name: path
                        .file_stem()
                        .map(|stem| stem.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    description: describe(&std::fs::read_to_string(&path).unwrap_or_default()),
                    origin: path.display().to_string(),
                });
            }
        }
        for (name, text) in kind.builtins() {
            listings.push(PresetListing {
                kind,
                name: name.to_string(),
                description: describe(text),
                origin: "built-in".to_string(),
            });
        }
        listings
    }

    /// The resolved TOML of a preset (after `extends`), for `presets show`.
    pub fn show(&self, kind: Option<PresetKind>, reference: &str) -> Result<String, ConfigError> {
        let kinds: Vec<PresetKind> = match kind {
            Some(kind) => vec![kind],
            None => PresetKind::ALL.to_vec(),
        };
        let explicit_kind = kind.is_some();
        let here = Path::new("");
        let mut found = Vec::new();
        // Without --kind, a file that fails to parse as one kind may well be another kind.
        let mut failures = Vec::new();
        for kind in kinds {
            let table = match kind {
                PresetKind::Crop => self.crop(reference, here).map(|resolved| resolved.table),
                PresetKind::Tone => self
                    .tone_resolved(reference, here)
                    .map(|(resolved, _)| resolved.table),
                PresetKind::Export => self.export(reference).map(|resolved| resolved.table),
            };
            match table {
                Ok(table) => found.push((kind, table)),
                Err(ConfigError::Usage(_)) => {}
                Err(other) if explicit_kind => return Err(other),
                Err(other) => failures.push(format!("  as a {} preset: {other}", kind.folder())),
            }
        }
        match found.as_slice() {
            [] if !failures.is_empty() => Err(ConfigError::Usage(format!(
                "{reference:?} is not a valid preset of any kind:\n{}",
                failures.join("\n")
            ))),
            [] => Err(ConfigError::Usage(format!(
                "no preset named {reference:?}; see `headshot presets list`"
            ))),
            [(kind, table)] => Ok(format!(
                "# {} preset {reference}, resolved\n{}",
                kind.folder(),
                toml::to_string_pretty(table).unwrap_or_default()
            )),
            _ => Err(ConfigError::Usage(format!(
                "{reference:?} names presets of several kinds; add --kind crop|tone|export"
            ))),
        }
    }
}

/// A TOML error message that names the key written on the offending line.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().to_string();
    let key = error.span().and_then(|span| {
        let line_start = text[..span.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = text[line_start..].lines().next()?;
        let key = line.split('=').next()?.trim();
        (line.contains('=') && !key.is_empty()).then(|| key.to_string())
    });
    match key {
        Some(key) if !message.contains(&key) => format!("{key}: {message}"),
        _ => message,
    }
}

/// Merges `child` over `parent`: the child's keys win; nested tables merge key by key.
fn merge_tables(parent: &mut toml::Table, child: toml::Table) {
    for (key, value) in child {
        match (parent.get_mut(&key), value) {
            (Some(toml::Value::Table(parent_table)), toml::Value::Table(child_table)) => {
                merge_tables(parent_table, child_table)
            }
            (_, value) => {
                parent.insert(key, value);
            }
        }
    }
}

/// 1-based line of a key in a TOML text, from the parser's spans. `key` is a path with `.`
/// between steps; a number steps into an array (`derivative.1.quality` is `quality` in the
/// second `[[derivative]]`). Where the path ends early (a key the file does not set), the line
/// of the deepest step found.
pub fn key_line(text: &str, key: &str) -> Option<usize> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut table = document.get_ref();
    let mut line = None;
    let mut steps = key.split('.').peekable();
    while let Some(step) = steps.next() {
        let Some((found, value)) = table.get_key_value(step) else {
            break;
        };
        line = Some(line_of(text, found.span().start));
        let mut value = value;
        if let toml::de::DeValue::Array(items) = value.get_ref() {
            let Some(item) = steps
                .peek()
                .and_then(|index| index.parse::<usize>().ok())
                .and_then(|index| items.get(index))
            else {
                break;
            };
            steps.next();
            line = Some(line_of(text, item.span().start));
            value = item;
        }
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    line
}
