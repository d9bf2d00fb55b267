//! Re-runs: what each output was made from, so a second run redoes only what changed.
//!
//! The output folder keeps `.headshot-state.json` (rewritten atomically at the end of a run) and
//! `.headshot-state.journal` (JSON lines appended as each photo is rendered and as its outputs
//! are finished, so a killed run keeps everything it finished; folded into the state file at the
//! end). Per source they record its size, modification time and XXH3 content hash, the last
//! render (its fingerprint and staged files) and the final outputs with their finish keys.
//! While photos are decoded, a journalled render is kept only in the journal (its line's
//! offset in memory) and read back once the first pass is over, so the shoot's render records
//! do not add to the peak the decoding workers make.
//!
//! - A source whose size and mtime are as recorded is known by its content hash without a read.
//! - A render whose fingerprint (content hash + every setting that shapes pixels) is unchanged
//!   and whose staged files exist is reused: no decode.
//! - An output whose finish key (render, final name, metadata) is unchanged and whose file has
//!   its recorded size is left alone: a stat, no write.
//!
//! Outputs and staged files an earlier run made that nothing claims now are deleted; the
//! removed outputs are reported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::manifest::RemovedOutput;
use crate::output;
use crate::render::{self, Rendered};

/// The state file, hidden so discovery never takes it for a photo.
pub const STATE_FILE: &str = ".headshot-state.json";
/// Lines appended as photos finish; folded into [`STATE_FILE`] at the end of a run.
pub const JOURNAL_FILE: &str = ".headshot-state.journal";
const STATE_SCHEMA: &str = "headshot-state";
/// A state written by another version is ignored (everything is redone), never misread.
const STATE_VERSION: u32 = 2;

/// Whether a run may reuse what earlier runs made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RerunPolicy {
    /// Reuse analyses, renders and outputs that are still current (the default).
    #[default]
    SkipCurrent,
    /// Redo every photo from its decode (`--force`).
    RedoAll,
}

/// A source's size and modification time, from one stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStamp {
    pub size: u64,
    /// Nanoseconds since 1970 (negative before).
    pub mtime_ns: i64,
}

impl SourceStamp {
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = fs::metadata(path)?;
        let modified = metadata.modified()?;
        let mtime_ns = match modified.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i64,
            Err(before) => -(before.duration().as_nanos() as i64),
        };
        Ok(Self {
            size: metadata.len(),
            mtime_ns,
        })
    }
}

/// One final output as the finish pass wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedOutput {
    /// Relative to the output folder, with `/` separators.
    pub path: String,
    pub bytes: u64,
    /// Fingerprint of everything that shaped the file (render, name, metadata).
    pub key: String,
}

/// What the state remembers of one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateEntry {
    /// Absolute source path: the key.
    pub source: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// XXH3-64 of the source bytes, 16 hex digits.
    pub xxh3: String,
    /// Shared with the photo's first-pass outcome: one copy per photo for the whole run.
    pub rendered: Option<Arc<Rendered>>,
    pub outputs: Vec<FinishedOutput>,
    /// Where this run's journal holds `rendered` while the first pass lets go of it
    /// ([`RerunState::rendered`]); `rendered` is `None` until [`RerunState::restore_renders`].
    #[serde(skip)]
    journalled_render: Option<JournalSpan>,
}

/// One line of the journal: its byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JournalSpan {
    offset: u64,
    len: usize,
}

/// The journal as this run appends to it.
struct Journal {
    file: File,
    /// Bytes in the file: where the next line starts.
    len: u64,
}

/// A journal line: a photo rendered, or a photo's outputs finished.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum JournalLine {
    Rendered {
        source: String,
        size: u64,
        mtime_ns: i64,
        xxh3: String,
        rendered: Option<Arc<Rendered>>,
    },
    Finished {
        source: String,
        outputs: Vec<FinishedOutput>,
    },
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    schema: String,
    version: u32,
    generator: String,
    photos: Vec<StateEntry>,
}

/// One run's view of the state: what earlier runs made, and what this run makes.
pub struct RerunState {
    output_dir: PathBuf,
    policy: RerunPolicy,
    previous: HashMap<String, StateEntry>,
    /// Every output path an earlier entry claimed, with its source: candidates for deletion.
    known_outputs: BTreeMap<String, String>,
    journal: Mutex<Option<Journal>>,
    current: Mutex<HashMap<String, StateEntry>>,
}

/// The key of a source: its absolute path (without resolving links, which would cost a syscall).
pub fn source_key(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Folds a journal line into `entries`; returns the entry it changed.
fn apply_line(entries: &mut HashMap<String, StateEntry>, line: JournalLine) -> &mut StateEntry {
    match line {
        JournalLine::Rendered {
            source,
            size,
            mtime_ns,
            xxh3,
            rendered,
        } => {
            let entry = entries.entry(source.clone()).or_default();
            let outputs = std::mem::take(&mut entry.outputs);
            *entry = StateEntry {
                source,
                size,
                mtime_ns,
                xxh3,
                rendered,
                outputs,
                journalled_render: None,
            };
            entry
        }
        JournalLine::Finished { source, outputs } => {
            let entry = entries.entry(source.clone()).or_default();
            entry.source = source;
            entry.outputs = outputs;
            entry
        }
    }
}

impl RerunState {
    /// Loads the state of earlier runs in `output_dir` (a missing, damaged or foreign state means
    /// everything is redone) and opens the journal for this run.
    pub fn open(output_dir: &Path, policy: RerunPolicy) -> std::io::Result<Self> {
        let mut previous: HashMap<String, StateEntry> = HashMap::new();
        if let Ok(text) = fs::read_to_string(output_dir.join(STATE_FILE)) {
            if let Ok(state) = serde_json::from_str::<StateFile>(&text) {
                if state.schema == STATE_SCHEMA && state.version == STATE_VERSION {
                    for entry in state.photos {
                        previous.insert(entry.source.clone(), entry);
                    }
                }
            }
        }
        let journal_path = output_dir.join(JOURNAL_FILE);
        let mut journal_text = String::new();
        if let Ok(mut file) = File::open(&journal_path) {
            let _ = file.read_to_string(&mut journal_text);
        }
        let mut known_outputs = BTreeMap::new();
        let mut remember_outputs = |entries: &HashMap<String, StateEntry>| {
            for entry in entries.values() {
                for output in &entry.outputs {
                    known_outputs.insert(output.path.clone(), entry.source.clone());
                }
            }
        };
        remember_outputs(&previous);
        // Later lines win; a line cut short (a crash mid-write) does not parse and is passed over.
        for line in journal_text.lines() {
            if let Ok(line) = serde_json::from_str::<JournalLine>(line) {
                apply_line(&mut previous, line);
                remember_outputs(&previous);
            }
        }
        let mut journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)?;
        if !journal_text.is_empty() && !journal_text.ends_with('\n') {
            journal.write_all(b"\n")?;
        }
        let len = journal.metadata()?.len();
        Ok(Self {
            output_dir: output_dir.to_path_buf(),
            policy,
            previous,
            known_outputs,
            journal: Mutex::new(Some(Journal { file: journal, len })),
            current: Mutex::new(HashMap::new()),
        })
    }

    fn reusable(&self, key: &str) -> Option<&StateEntry> {
        match self.policy {
            RerunPolicy::SkipCurrent => self.previous.get(key),
            RerunPolicy::RedoAll => None,
        }
    }

    /// The content hash of the source at `path`, when its stamp is as recorded (no read).
    pub fn known_hash(&self, path: &Path, stamp: SourceStamp) -> Option<u64> {
        let entry = self.reusable(&source_key(path))?;
        if entry.size != stamp.size || entry.mtime_ns != stamp.mtime_ns {
            return None;
        }
        u64::from_str_radix(&entry.xxh3, 16).ok()
    }

    /// An earlier render of `path` made with `render_key` whose staged files are all there.
    pub fn reusable_render(&self, path: &Path, render_key: &str) -> Option<Arc<Rendered>> {
        let entry = self.reusable(&source_key(path))?;
        let rendered = entry.rendered.as_ref()?;
        (rendered.key == render_key && render::staged_files_exist(rendered, &self.output_dir))
            .then(|| Arc::clone(rendered))
    }

    /// An earlier final output of `path` at `relative` with `key`, still whole on disk.
    pub fn current_output(&self, path: &Path, relative: &str, key: &str) -> Option<FinishedOutput> {
        let entry = self.reusable(&source_key(path))?;
        let output = entry
            .outputs
            .iter()
            .find(|output| output.path == relative && output.key == key)?;
        let on_disk = fs::metadata(self.output_dir.join(relative));
        on_disk
            .is_ok_and(|metadata| metadata.is_file() && metadata.len() == output.bytes)
            .then(|| output.clone())
    }

    /// Records a photo rendered (or reused) this run: journalled when anything is new.
    ///
    /// Returns whether the render went to the journal and the state let go of it: the caller
    /// may then drop its copy too, and gets it back after the first pass from
    /// [`RerunState::restore_renders`] and [`RerunState::render_of`]. So the first pass keeps
    /// no render record per photo in memory (about 1 KB each), and peak memory, reached while
    /// photos are decoded, does not grow with the shoot.
    pub fn rendered(
        &self,
        path: &Path,
        stamp: SourceStamp,
        xxh3: u64,
        rendered: Option<&Arc<Rendered>>,
    ) -> bool {
        let line = JournalLine::Rendered {
            source: source_key(path),
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            xxh3: crate::fingerprint::hex(xxh3),
            rendered: rendered.cloned(),
        };
        let unchanged = self.reusable(&source_key(path)).is_some_and(|entry| {
            entry.size == stamp.size
                && entry.mtime_ns == stamp.mtime_ns
                && entry.rendered.as_ref() == rendered
        });
        let span = if unchanged { None } else { self.append(&line) };
        let spilled = span.is_some() && rendered.is_some();
        if let Ok(mut current) = self.current.lock() {
            let entry = apply_line(&mut current, line);
            if spilled {
                entry.rendered = None;
                entry.journalled_render = span;
            }
        }
        spilled
    }

    /// Reads back from the journal the renders the first pass let go of
    /// ([`RerunState::rendered`]). A line that no longer reads leaves its photo without a
    /// render; [`RerunState::render_of`] then says so.
    pub fn restore_renders(&self) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        let mut spilled: Vec<(JournalSpan, &mut StateEntry)> = current
            .values_mut()
            .filter_map(|entry| Some((entry.journalled_render.take()?, entry)))
            .collect();
        spilled.sort_by_key(|(span, _)| span.offset);
        let Ok(mut journal) = File::open(self.output_dir.join(JOURNAL_FILE)) else {
            return;
        };
        let mut line = Vec::new();
        for (span, entry) in spilled {
            line.resize(span.len, 0);
            let read = journal
                .seek(SeekFrom::Start(span.offset))
                .and_then(|_| journal.read_exact(&mut line));
            // Only this entry's own line: a wrong offset must not hand it another photo's files.
            if let (
                Ok(()),
                Ok(JournalLine::Rendered {
                    source, rendered, ..
                }),
            ) = (read, serde_json::from_slice::<JournalLine>(&line))
            {
                if source == entry.source {
                    entry.rendered = rendered;
                }
            }
        }
    }

    /// This run's render of `path`, as recorded (after [`RerunState::restore_renders`]).
    pub fn render_of(&self, path: &Path) -> Option<Arc<Rendered>> {
        let current = self.current.lock().ok()?;
        current.get(&source_key(path))?.rendered.clone()
    }

    /// Records a photo's final outputs once they are all in place (journalled when any is new).
    pub fn finished(&self, path: &Path, outputs: Vec<FinishedOutput>) {
        let source = source_key(path);
        let unchanged = self
            .reusable(&source)
            .is_some_and(|entry| entry.outputs == outputs);
        let line = JournalLine::Finished { source, outputs };
        if !unchanged {
            self.append(&line);
        }
        if let Ok(mut current) = self.current.lock() {
            apply_line(&mut current, line);
        }
    }

    /// One line per event in one `write`, so a kill never leaves half a line that parses.
    /// Returns where the line went, or `None` when it could not be written.
    fn append(&self, line: &JournalLine) -> Option<JournalSpan> {
        let mut text = serde_json::to_string(line).ok()?;
        text.push('\n');
        let mut guard = self.journal.lock().ok()?;
        let journal = guard.as_mut()?;
        let span = JournalSpan {
            offset: journal.len,
            len: text.len(),
        };
        // A lost line only means that photo is redone next time.
        match journal.file.write_all(text.as_bytes()) {
            Ok(()) => {
                journal.len += text.len() as u64;
                Some(span)
            }
            Err(_) => {
                // Part of the line may be in the file: find the end again for the next one, or
                // journal nothing more (later renders then stay in memory).
                match journal.file.metadata() {
                    Ok(metadata) => journal.len = metadata.len(),
                    Err(_) => *guard = None,
                }
                None
            }
        }
    }

    /// Ends the run: deletes earlier outputs and staged files nothing claims any more, writes
    /// the state file and removes the journal. `sources` are this run's photos (failed too).
    pub fn finish(self, sources: &[PathBuf]) -> std::io::Result<Vec<RemovedOutput>> {
        let this_run: HashSet<String> = sources.iter().map(|path| source_key(path)).collect();
        let current = self.current.into_inner().unwrap_or_default();
        let claimed_now: HashSet<&str> = current
            .values()
            .flat_map(|entry| entry.outputs.iter().map(|o| o.path.as_str()))
            .collect();
        let mut kept: BTreeMap<String, StateEntry> = BTreeMap::new();
        // Sources this run was not given: kept while they exist and no photo took their names.
        for (source, entry) in &self.previous {
            if this_run.contains(source) {
                continue;
            }
            let names_free = entry
                .outputs
                .iter()
                .all(|output| !claimed_now.contains(output.path.as_str()));
            if Path::new(source).is_file() && names_free {
                kept.insert(source.clone(), entry.clone());
            }
        }
        kept.extend(current);
        let removed =
            remove_unclaimed_outputs(&self.output_dir, &self.known_outputs, &kept, &this_run);
        remove_unclaimed_staging(&self.output_dir, &kept);

        let state = StateFile {
            schema: STATE_SCHEMA.to_string(),
            version: STATE_VERSION,
            generator: format!("headshot {}", env!("CARGO_PKG_VERSION")),
            photos: kept.into_values().collect(),
        };
        output::write_atomically_with(&self.output_dir.join(STATE_FILE), |out| {
            serde_json::to_writer(out, &state).map_err(std::io::Error::from)
        })?;
        // The state file now holds everything the journal did.
        drop(self.journal.into_inner());
        let _ = fs::remove_file(self.output_dir.join(JOURNAL_FILE));
        Ok(removed)
    }
}

/// Deletes outputs of earlier runs that no kept entry claims, saying why for each.
fn remove_unclaimed_outputs(
    output_dir: &Path,
    known_outputs: &BTreeMap<String, String>,
    kept: &BTreeMap<String, StateEntry>,
    this_run: &HashSet<String>,
) -> Vec<RemovedOutput> {
    let wanted: HashSet<&str> = kept
        .values()
        .flat_map(|entry| entry.outputs.iter().map(|o| o.path.as_str()))
        .collect();
    let mut removed = Vec::new();
    for (path, source) in known_outputs {
        if wanted.contains(path.as_str()) {
            continue;
        }
        let file = output_dir.join(path);
        if !file.is_file() || fs::remove_file(&file).is_err() {
            continue;
        }
        let reason = if kept
            .get(source)
            .is_some_and(|entry| !entry.outputs.is_empty())
        {
            "no longer made: file names or derivatives changed"
        } else if this_run.contains(source) {
            "no longer made: its source failed or is a slate in this run"
        } else if Path::new(source).is_file() {
            "its name was taken by another photo"
        } else {
            "its source is gone"
        };
        removed.push(RemovedOutput {
            path: path.clone(),
            source: source.clone(),
            reason: reason.to_string(),
        });
    }
    removed
}

/// Deletes staged files no kept render uses (settings changed, sources gone).
fn remove_unclaimed_staging(output_dir: &Path, kept: &BTreeMap<String, StateEntry>) {
    let in_use: HashSet<&str> = kept
        .values()
        .filter_map(|entry| entry.rendered.as_ref())
        .flat_map(|rendered| rendered.outputs.iter().map(|o| o.staged.as_str()))
        .collect();
    let Ok(entries) = fs::read_dir(render::staging_folder(output_dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !in_use.contains(name.as_str()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source's size and time as any test photo has them.
    const STAMP: SourceStamp = SourceStamp {
        size: 1,
        mtime_ns: 2,
    };

    #[test]
    fn stamps_change_with_content_and_time() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("a.jpg");
        fs::write(&file, b"one").unwrap();
        let first = SourceStamp::of(&file).unwrap();
        assert_eq!(first.size, 3);
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_ne!(SourceStamp::of(&file).unwrap().mtime_ns, first.mtime_ns);
    }

    #[test]
    fn a_cut_journal_line_is_passed_over_and_the_next_line_starts_fresh() {
        let folder = tempfile::tempdir().unwrap();
        fs::write(
            folder.path().join(JOURNAL_FILE),
            b"{\"event\":\"rendered\",\"source\":\"/x.jpg\",\"size\":1",
        )
        .unwrap();
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        assert!(state.previous.is_empty());
        state.rendered(Path::new("/y.jpg"), STAMP, 3, None);
        drop(state);
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        assert_eq!(state.previous.len(), 1);
        assert_eq!(state.known_hash(Path::new("/y.jpg"), STAMP), Some(3));
        let touched = SourceStamp {
            mtime_ns: 5,
            ..STAMP
        };
        assert_eq!(state.known_hash(Path::new("/y.jpg"), touched), None);
    }

    fn a_render(key: &str) -> Arc<Rendered> {
        Arc::new(Rendered {
            key: key.to_string(),
            warnings: vec![format!("made with {key}")],
            ..Rendered::default()
        })
    }

    #[test]
    fn a_journalled_render_leaves_memory_and_comes_back_whole() {
        let folder = tempfile::tempdir().unwrap();
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        let (a, b) = (Path::new("/a.jpg"), Path::new("/b.jpg"));
        assert!(state.rendered(a, STAMP, 3, Some(&a_render("aaaa"))));
        assert!(state.rendered(b, STAMP, 4, Some(&a_render("bbbb"))));
        assert!(!state.rendered(Path::new("/slate.jpg"), STAMP, 5, None));
        assert_eq!(state.render_of(a), None, "the state let go of it");

        state.restore_renders();
        assert_eq!(state.render_of(a), Some(a_render("aaaa")));
        assert_eq!(state.render_of(b), Some(a_render("bbbb")));
        // And the state file written at the end has them for the next run.
        state.finish(&[a.to_path_buf(), b.to_path_buf()]).unwrap();
        let next = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        assert_eq!(
            next.previous[&source_key(a)].rendered,
            Some(a_render("aaaa"))
        );
    }

    #[test]
    fn renders_journalled_after_an_interrupted_runs_lines_come_back_whole() {
        let folder = tempfile::tempdir().unwrap();
        let earlier = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        earlier.rendered(Path::new("/old.jpg"), STAMP, 9, Some(&a_render("old1")));
        drop(earlier);
        // The interrupted run's last line was cut mid-write: no newline after it.
        let journal = folder.path().join(JOURNAL_FILE);
        let mut text = fs::read(&journal).unwrap();
        text.extend_from_slice(b"{\"event\":\"rendered\",\"source\":\"/cut.jpg\"");
        fs::write(&journal, text).unwrap();

        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        let photo = Path::new("/a.jpg");
        assert!(state.rendered(photo, STAMP, 3, Some(&a_render("aaaa"))));
        state.restore_renders();
        assert_eq!(state.render_of(photo), Some(a_render("aaaa")));
    }

    #[test]
    fn a_journalled_render_that_no_longer_reads_is_missing_not_wrong() {
        let folder = tempfile::tempdir().unwrap();
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        let photo = Path::new("/a.jpg");
        assert!(state.rendered(photo, STAMP, 3, Some(&a_render("aaaa"))));
        let journal = folder.path().join(JOURNAL_FILE);
        let text = fs::read_to_string(&journal).unwrap();
        fs::write(&journal, text.replace("aaaa", "a\"a\"")).unwrap();
        state.restore_renders();
        assert_eq!(state.render_of(photo), None);
    }

    #[test]
    fn a_damaged_state_file_means_redo_everything() {
        let folder = tempfile::tempdir().unwrap();
        fs::write(folder.path().join(STATE_FILE), b"{ not json").unwrap();
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent).unwrap();
        assert!(state.previous.is_empty());
    }
}
