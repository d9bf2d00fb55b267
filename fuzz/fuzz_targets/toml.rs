//! Crop, tone and export presets and the shoot file, through the registry as `--crop FILE` does.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use headshot::presets::{Registry, ShootFile};
use libfuzzer_sys::fuzz_target;

/// One folder per fuzzing process; each input overwrites the same preset file.
fn folder() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder = std::env::temp_dir().join(format!("headshot-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("temp folder");
        folder
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `lut` may name a file: only ones inside the temp folder resolve, and none exist there.
    let path = folder().join("preset.toml");
    if std::fs::write(&path, text).is_err() {
        return;
    }
    let registry = Registry::new(Vec::new());
    let reference = path.to_string_lossy();
    let _ = registry
        .crop(&reference, Path::new(""))
        .map_err(|e| e.to_string());
    if !text.contains("lut") {
        let _ = registry
            .tone(&reference, Path::new(""))
            .map_err(|e| e.to_string());
    }
    let _ = registry
        .export_relative(&reference, Path::new(""))
        .map_err(|e| e.to_string());
    let _ = ShootFile::load(&path).map_err(|e| e.to_string());
});
