//! Writes files into the output folder atomically: a temp file beside the target, then a rename.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Suffix of in-progress files; a run removes leftovers of an interrupted one.
pub const TEMP_SUFFIX: &str = ".headshot-tmp";

/// Writes `bytes` to `path` so that `path` either does not exist or holds all of `bytes`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_through_temp(path, |file| file.write_all(bytes))
}

/// Like [`write_atomically`], with the contents streamed by `write` (buffered): a shoot's
/// manifest is never held whole in memory, so peak memory does not grow with the shoot.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_through_temp(path, |file| {
        let mut buffered = std::io::BufWriter::with_capacity(256 * 1024, file);
        write(&mut buffered)?;
        buffered.flush()
    })
}

/// Writes a temp file beside `path` with `write`, syncs it and renames it over `path`; on any
/// error the temp file is removed.
fn write_through_temp(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Hidden, unique per process and thread, so parallel writers and later runs never clash.
    let temp_path = path.with_file_name(format!(
        ".{file_name}.{}-{:?}{TEMP_SUFFIX}",
        std::process::id(),
        std::thread::current().id()
    ));
    let result = (|| {
        let mut file = fs::File::create(&temp_path)?;
        write(&mut file)?;
        file.sync_data()?;
        fs::rename(&temp_path, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp_path);
    }
    result
}

/// Removes temp files left by an interrupted run anywhere under `output_dir`; returns how many.
///
/// Call it only while holding the folder's [`crate::lock::OutputLock`]: a temp file may belong to
/// another run that is writing into the same folder right now, and removing it loses that photo.
pub fn remove_stale_temp_files(output_dir: &Path) -> usize {
    let mut removed = 0;
    let mut folders = vec![output_dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path: PathBuf = entry.path();
            let is_dir = entry.file_type().map(|kind| kind.is_dir()).unwrap_or(false);
            if is_dir {
                folders.push(path);
            } else if path.to_string_lossy().ends_with(TEMP_SUFFIX)
                && fs::remove_file(&path).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("sub/a.jpg");
        write_atomically(&target, b"first").unwrap();
        write_atomically(&target, b"second version").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second version");
        let names: Vec<_> = fs::read_dir(folder.path().join("sub"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn cleans_up_interrupted_temp_files() {
        let folder = tempfile::tempdir().unwrap();
        fs::create_dir_all(folder.path().join("d")).unwrap();
        fs::write(
            folder.path().join("d/.x.jpg.1-ThreadId(2).headshot-tmp"),
            b"half",
        )
        .unwrap();
        fs::write(folder.path().join("keep.jpg"), b"whole").unwrap();
        assert_eq!(remove_stale_temp_files(folder.path()), 1);
        assert!(folder.path().join("keep.jpg").exists());
    }
}
