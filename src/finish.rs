//! The finish pass: each staged derivative under its final name with its metadata (EXIF, XMP,
//! IPTC, face regions with names) put into its container, written atomically. No pixel is
//! decoded or encoded here, so a names or caption change costs only this pass.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::colour;
use crate::decide::{FinalOutput, PhotoPlan};
use crate::encode::{self, Embedded};
use crate::error::{PhotoError, Stage};
use crate::exif_info;
use crate::fingerprint;
use crate::manifest::OutputRecord;
use crate::metadata::{self, MetadataPolicy, OutputMetadata};
use crate::output;
use crate::render;
use crate::rerun::FinishedOutput;

/// Everything that shapes one final file: explicit, serialised and hashed.
#[derive(Serialize)]
struct FinishFingerprint<'a> {
    generator: &'static str,
    render_key: &'a str,
    staged: &'a str,
    path: &'a str,
    metadata: &'a OutputMetadata,
    policy: MetadataPolicy,
}

/// The finish key of one output of a photo rendered under `render_key`.
pub fn finish_key(
    render_key: &str,
    output: &FinalOutput,
    metadata: &OutputMetadata,
    policy: MetadataPolicy,
) -> String {
    fingerprint::hex(fingerprint::of(&FinishFingerprint {
        generator: env!("CARGO_PKG_VERSION"),
        render_key,
        staged: &output.staged.staged,
        path: &relative_text(&output.path),
        metadata,
        policy,
    }))
}

/// A path relative to the output folder as the manifest writes it, with `/` separators.
pub fn relative_text(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The source's EXIF fields the metadata policy picks from (none for `strip`). Reads only the
/// file's header.
pub fn source_exif(path: &Path, policy: MetadataPolicy) -> Vec<exif::Field> {
    if policy == MetadataPolicy::Strip {
        return Vec::new();
    }
    let Ok(file) = fs::File::open(path) else {
        return Vec::new();
    };
    exif_info::read_exif_from(&mut std::io::BufReader::new(file))
        .exif
        .map(|exif| exif.fields().cloned().collect())
        .unwrap_or_default()
}

/// Writes one output: the staged file with `metadata` embedded, at its final path.
pub fn write_output(
    output: &FinalOutput,
    metadata: &OutputMetadata,
    source_exif: &[exif::Field],
    policy: MetadataPolicy,
    output_dir: &Path,
) -> Result<u64, (Stage, PhotoError)> {
    let staged_path = render::staging_folder(output_dir).join(&output.staged.staged);
    let staged = fs::read(&staged_path).map_err(|error| (Stage::Read, PhotoError::Io(error)))?;
    let blocks = metadata::metadata_blocks(metadata, Some(source_exif), policy)
        .map_err(|error| (Stage::Metadata, PhotoError::Processing(error.to_string())))?;
    let embedded = Embedded {
        blocks: &blocks,
        icc_profile: colour::srgb_icc(),
    };
    let dimensions = (output.staged.width, output.staged.height);
    let bytes = encode::embed(&staged, output.staged.format, dimensions, embedded)
        .map_err(|error| (Stage::Metadata, PhotoError::Processing(error.to_string())))?;
    let destination = output_dir.join(&output.path);
    output::write_atomically(&destination, &bytes).map_err(|source| {
        (
            Stage::Write,
            PhotoError::Write {
                path: destination.clone(),
                source,
            },
        )
    })?;
    Ok(bytes.len() as u64)
}

/// Writes the `.xmp` sidecar of an original, when the plan has one.
pub fn write_sidecar(plan: &PhotoPlan, output_dir: &Path) -> Result<(), (Stage, PhotoError)> {
    let Some((relative, metadata)) = &plan.sidecar else {
        return Ok(());
    };
    let destination = output_dir.join(relative);
    output::write_atomically(&destination, metadata::xmp_sidecar(metadata).as_bytes()).map_err(
        |source| {
            (
                Stage::Write,
                PhotoError::Write {
                    path: destination.clone(),
                    source,
                },
            )
        },
    )
}

/// The manifest's record of a finished output.
pub fn output_record(output: &FinalOutput, finished: &FinishedOutput) -> OutputRecord {
    OutputRecord {
        derivative: output.staged.derivative.clone(),
        path: finished.path.clone(),
        width: output.staged.width,
        height: output.staged.height,
        bytes: finished.bytes,
        format: output.staged.format,
        quality: output.staged.quality,
        crop: output.staged.crop.clone(),
    }
}
