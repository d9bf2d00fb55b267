//! Typed errors: per-photo failures (the batch goes on) and configuration errors (nothing runs).

use std::fmt;
use std::path::PathBuf;

/// The stage of a photo's trip through the pipeline where something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Read,
    Decode,
    Crop,
    Tone,
    Resize,
    Encode,
    /// Putting the metadata into a staged file's container.
    Metadata,
    Write,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Stage::Read => "read",
            Stage::Decode => "decode",
            Stage::Crop => "crop",
            Stage::Tone => "tone",
            Stage::Resize => "resize",
            Stage::Encode => "encode",
            Stage::Metadata => "metadata",
            Stage::Write => "write",
        };
        f.write_str(name)
    }
}

/// Why one photo could not be processed. The rest of the batch is unaffected.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("file is empty (0 bytes)")]
    Empty,
    #[error("not a JPEG, PNG or TIFF image (unrecognised content)")]
    NotAnImage,
    #[error("image is {width}x{height} ({megapixels:.0} MP), over the {limit_megapixels} MP limit (raise --max-megapixels if this is a real photo)")]
    TooLarge {
        width: u64,
        height: u64,
        megapixels: f64,
        limit_megapixels: u64,
    },
    #[error("image has zero width or height")]
    ZeroSize,
    #[error("file is truncated: image data ends early")]
    Truncated,
    #[error("corrupt image data: {0}")]
    Corrupt(String),
    #[error("decoder crashed: {0}")]
    DecoderPanic(String),
    #[error("{0}")]
    Processing(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A failed photo: which file, at which stage, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {stage}: {error}", path.display())]
pub struct PhotoFailure {
    pub path: PathBuf,
    pub stage: Stage,
    pub error: PhotoError,
}

/// A problem with flags, presets or the shoot file, found before any photo is touched.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Usage(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", file, line.map(|l| format!(":{l}")).unwrap_or_default())]
    Preset {
        file: String,
        line: Option<usize>,
        message: String,
    },
}
