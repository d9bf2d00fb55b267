//! One run per output folder: an advisory lock on `OUT/.headshot.lock`, held for the whole run.
//!
//! Two runs writing one gallery remove each other's temp files and both write the state, so the
//! second one refuses at once. The lock belongs to the open file: the OS releases it when the
//! guard is dropped or the process dies (even by SIGKILL), so a crash never leaves a stale lock.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// The lock file's name inside the output folder (hidden, so discovery and galleries pass it by).
pub const LOCK_FILE: &str = ".headshot.lock";

/// Holds the output folder for this process until dropped.
#[derive(Debug)]
pub struct OutputLock {
    /// Kept open: closing the file releases the lock.
    _file: File,
    path: PathBuf,
    /// The folder was made for this run: if the run writes nothing (a usage error found
    /// while planning), dropping the lock removes it again.
    created_folder: Option<PathBuf>,
}

impl OutputLock {
    /// Locks `output_dir` (created if missing) for this process, writing our pid into the lock
    /// file. Another live holder makes this a usage error naming the folder and its pid.
    pub fn acquire(output_dir: &Path) -> Result<OutputLock, ConfigError> {
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ConfigError::Io { path, source }
        };
        let created_folder = (!output_dir.exists()).then(|| output_dir.to_path_buf());
        fs::create_dir_all(output_dir).map_err(io_error(output_dir))?;
        let path = output_dir.join(LOCK_FILE);
        // Not truncated on open: the holder's pid must stay readable for whoever is refused.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file)
                    .map(|pid| format!("process {pid}"))
                    .unwrap_or_else(|| "another process".to_string());
                return Err(ConfigError::Usage(format!(
                    "the output folder {} is in use by another headshot run ({holder}, lock {}); wait for it to finish or choose another --out",
                    output_dir.display(),
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(ConfigError::Io { path, source });
            }
        }
        // The file is kept (never removed): removing it would let a waiting opener lock a
        // file that is no longer the one a third run finds.
        let record_pid = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.flush()
        };
        record_pid(&mut file).map_err(io_error(&path))?;
        Ok(OutputLock {
            _file: file,
            path,
            created_folder,
        })
    }

    /// Where the lock file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let Some(folder) = &self.created_folder else {
            return;
        };
        let only_the_lock = fs::read_dir(folder)
            .map(|entries| entries.flatten().all(|entry| entry.path() == self.path))
            .unwrap_or(false);
        if only_the_lock {
            // Best effort: an empty folder left behind is harmless.
            let _ = fs::remove_file(&self.path);
            let _ = fs::remove_dir(folder);
        }
    }
}

/// The pid the holder wrote, if it has written it yet.
fn read_holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_pid_until_the_first_drops() {
        let out = tempfile::tempdir().unwrap();
        let folder = out.path().join("gallery");
        let first = OutputLock::acquire(&folder).unwrap();
        assert_eq!(
            fs::read_to_string(first.path()).unwrap().trim(),
            std::process::id().to_string()
        );
        // A second open file description conflicts even within one process.
        let refused = OutputLock::acquire(&folder).unwrap_err();
        let message = refused.to_string();
        assert!(matches!(refused, ConfigError::Usage(_)), "{message}");
        assert!(message.contains(&folder.display().to_string()), "{message}");
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        drop(first);
        // Made by the lock and left empty: removed with it.
        assert!(!folder.exists());
        let again = OutputLock::acquire(&folder).unwrap();
        assert!(again.path().is_file());
        fs::write(folder.join("manifest.json"), "{}").unwrap();
        drop(again);
        assert!(
            folder.join("manifest.json").is_file(),
            "a used folder stays"
        );
    }
}
