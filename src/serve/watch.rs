//! Which photos in the watched shoot folders are new, changed or gone, and when a new one is
//! whole. A tethering program, a card copy or an FTP upload writes a file over seconds; a
//! half-written photo is never handed to a batch (it would be reported broken).

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::discover::ImageFormat;
use crate::rerun::SourceStamp;

/// How long a file's size and modification time must stay the same before it counts.
pub const SETTLE: Duration = Duration::from_millis(900);
/// A file stable this long that still does not look whole (a stalled upload, or a JPEG with
/// data after its end marker) is handed over anyway: the batch then says what is wrong with it.
pub const GIVE_UP: Duration = Duration::from_secs(20);

/// Names cameras, tethering programs and browsers give files while they write them.
pub fn is_temporary_name(path: &Path) -> bool {
    let Some(name) = path
        .file_name()
        .map(|name| name.to_string_lossy().to_lowercase())
    else {
        return true;
    };
    name.starts_with('.')
        || name.ends_with('~')
        || [".tmp", ".part", ".crdownload"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// What the watcher hands to the next batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new or changed file, whole.
    Ready(PathBuf),
    /// A file that was there and is gone (deleted or moved away).
    Removed(PathBuf),
}

#[derive(Debug)]
struct Pending {
    stamp: Option<SourceStamp>,
    /// When the stamp was last seen to change.
    stable_since: Instant,
}

/// Files seen changing that are not yet whole.
#[derive(Debug, Default)]
pub struct Completeness {
    pending: HashMap<PathBuf, Pending>,
}

impl Completeness {
    /// A watcher event named `path` (a file or a folder moved in).
    pub fn touched(&mut self, path: &Path, now: Instant) {
        if is_temporary_name(path) {
            return;
        }
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).into_iter().flatten() {
                if entry.file_type().is_file() {
                    self.touched(entry.path(), now);
                }
            }
            return;
        }
        let stamp = SourceStamp::of(path).ok();
        let entry = self.pending.entry(path.to_path_buf()).or_insert(Pending {
            stamp,
            stable_since: now,
        });
        if entry.stamp != stamp {
            entry.stamp = stamp;
            entry.stable_since = now;
        }
    }

    /// Files still being written: a batch running now must leave them out.
    pub fn pending(&self) -> impl Iterator<Item = &Path> {
        self.pending.keys().map(PathBuf::as_path)
    }

    /// Looks at every pending file again: those gone, and those whose size and time held
    /// still for [`SETTLE`] and that look whole, are returned and forgotten.
    pub fn check(&mut self, now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        self.pending.retain(|path, pending| {
            let stamp = match SourceStamp::of(path) {
                Ok(stamp) => stamp,
                Err(_) => {
                    changes.push(Change::Removed(path.clone()));
                    return false;
                }
            };
            if pending.stamp != Some(stamp) {
                pending.stamp = Some(stamp);
                pending.stable_since = now;
                return true;
            }
            let still_for = now.saturating_duration_since(pending.stable_since);
            if still_for < SETTLE {
                return true;
            }
            if still_for >= GIVE_UP || looks_whole(path, stamp.size) {
                changes.push(Change::Ready(path.clone()));
                return false;
            }
            true
        });
        changes.sort_by(|a, b| change_path(a).cmp(change_path(b)));
        changes
    }
}

fn change_path(change: &Change) -> &Path {
    match change {
        Change::Ready(path) | Change::Removed(path) => path,
    }
}

/// Whether a file of `size` bytes ends as its format says a file ends: a JPEG with its end
/// marker (trailing zero padding allowed), a PNG with its IEND chunk, a TIFF whose first
/// directory lies inside the file. Anything else (not a photo we read) counts once stable.
pub fn looks_whole(path: &Path, size: u64) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 8];
    if file.read_exact(&mut head).is_err() {
        return size > 0 && size < 8 && ImageFormat::sniff(&head).is_none();
    }
    let tail_len = size.min(4096);
    let mut tail = vec![0u8; tail_len as usize];
    let tail_read = file
        .seek(SeekFrom::Start(size - tail_len))
        .and_then(|_| file.read_exact(&mut tail));
    if tail_read.is_err() {
        return false;
    }
    match ImageFormat::sniff(&head) {
        Some(ImageFormat::Jpeg) => {
            let end = tail
                .iter()
                .rposition(|&byte| byte != 0)
                .map_or(0, |i| i + 1);
            tail[..end].ends_with(&[0xFF, 0xD9])
        }
        Some(ImageFormat::Png) => tail.ends_with(&[0xAE, 0x42, 0x60, 0x82]),
        Some(ImageFormat::Tiff) => {
            let offset = if head.starts_with(b"II") {
                u32::from_le_bytes([head[4], head[5], head[6], head[7]])
            } else {
                u32::from_be_bytes([head[4], head[5], head[6], head[7]])
            };
            u64::from(offset) + 2 <= size
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg_bytes() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        bytes.extend(std::iter::repeat_n(0x55, 5000));
        bytes.extend([0xFF, 0xD9]);
        bytes
    }

    #[test]
    fn temporary_names_are_passed_over() {
        for name in [
            ".IMG_1.JPG",
            "IMG_1.JPG.tmp",
            "a.part",
            "b.JPG.crdownload",
            "c.jpg~",
        ] {
            assert!(is_temporary_name(Path::new(name)), "{name}");
        }
        assert!(!is_temporary_name(Path::new("shoot/IMG_0001.JPG")));
    }

    #[test]
    fn a_jpeg_is_whole_only_with_its_end_marker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jpg");
        let bytes = jpeg_bytes();
        fs::write(&path, &bytes[..3000]).unwrap();
        assert!(!looks_whole(&path, 3000));
        let mut padded = bytes.clone();
        padded.extend([0, 0, 0]);
        fs::write(&path, &padded).unwrap();
        assert!(looks_whole(&path, padded.len() as u64));
    }

    #[test]
    fn a_half_written_file_waits_until_it_is_whole_and_still() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("IMG_1.jpg");
        let bytes = jpeg_bytes();
        fs::write(&path, &bytes[..2500]).unwrap();
        let start = Instant::now();
        let mut watch = Completeness::default();
        watch.touched(&path, start);
        // Stable but cut short: not handed over, however often it is looked at.
        assert!(watch.check(start + SETTLE * 2).is_empty());
        assert_eq!(watch.pending().count(), 1);
        fs::write(&path, &bytes).unwrap();
        let later = start + SETTLE * 3;
        watch.touched(&path, later);
        assert!(watch.check(later).is_empty(), "changed just now: not yet");
        assert_eq!(
            watch.check(later + SETTLE),
            vec![Change::Ready(path.clone())]
        );
        assert_eq!(watch.pending().count(), 0);
        watch.touched(&path, later);
        fs::remove_file(&path).unwrap();
        assert_eq!(watch.check(later), vec![Change::Removed(path)]);
    }
}
