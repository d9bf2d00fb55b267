//! Re-runs: what each output was made from, so a second run redoes only what changed.
//!
//! The output folder keeps `.headshot-state.json` (rewritten atomically at the end of a run) and
//! `.headshot-state.journal` (one JSON line appended as each photo finishes, so a killed run keeps
//! everything it finished; folded into the state file at the end). Per photo they record the
//! source's size, modification time and XXH3 content hash, a hash of every setting that shaped
//! its outputs, and the outputs themselves.
//!
//! A photo is skipped when its source has the recorded size and mtime (the content is hashed only
//! when the mtime moved), its settings hash is equal and every output exists with its recorded
//! size: a stat per file, no decode, no read. Outputs an earlier run made that no current photo
//! claims (source gone, source failed, names changed) are deleted and reported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::manifest::{CropRecord, FaceRecord, OutputRecord, PhotoRecord, RemovedOutput, Status};
use crate::output;
use crate::pipeline::{PlannedPhoto, RunOptions};
use crate::tone::CompiledTone;

/// The state file, hidden so discovery never takes it for a photo.
pub const STATE_FILE: &str = ".headshot-state.json";
/// Lines appended as photos finish; folded into [`STATE_FILE`] at the end of a run.
pub const JOURNAL_FILE: &str = ".headshot-state.journal";
const STATE_SCHEMA: &str = "headshot-state";
/// A state written by another version is ignored (everything is redone), never misread.
const STATE_VERSION: u32 = 1;

/// Whether a run may skip photos whose outputs are current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RerunPolicy {
    /// Skip photos whose outputs are all current (the default).
    #[default]
    SkipCurrent,
    /// Redo every photo (`--force`).
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

/// What one photo's outputs were made from, and the manifest facts a skipped photo reuses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateEntry {
    /// Absolute source path: the key.
    pub source: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// XXH3-64 of the source bytes, 16 hex digits.
    pub xxh3: String,
    /// Hash of every setting that shaped the outputs, 16 hex digits.
    pub settings: String,
    pub facts: Facts,
}

/// The parts of a manifest record that processing found (the rest comes from the plan).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Facts {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub warnings: Vec<String>,
    pub crop: Option<CropRecord>,
    pub needs_review: Option<String>,
    pub faces: Vec<FaceRecord>,
    pub title: Option<String>,
    pub caption: Option<String>,
    pub keywords: Vec<String>,
    pub outputs: Vec<OutputRecord>,
}

impl Facts {
    fn from_record(record: &PhotoRecord) -> Self {
        Self {
            width: record.width,
            height: record.height,
            warnings: record.warnings.clone(),
            crop: record.crop.clone(),
            needs_review: record.needs_review.clone(),
            faces: record.faces.clone(),
            title: record.title.clone(),
            caption: record.caption.clone(),
            keywords: record.keywords.clone(),
            outputs: record.outputs.clone(),
        }
    }

    /// Fills a planned record with what the run that made the outputs found; marks it skipped.
    pub fn apply_to(&self, record: &mut PhotoRecord) {
        record.status = Status::Skipped;
        record.width = self.width;
        record.height = self.height;
        record.warnings = self.warnings.clone();
        record.crop = self.crop.clone();
        record.needs_review = self.needs_review.clone();
        record.faces = self.faces.clone();
        // The plan's own values win; they hash equal to the stored ones anyway.
        if record.title.is_none() {
            record.title = self.title.clone();
        }
        if record.caption.is_none() {
            record.caption = self.caption.clone();
        }
        if record.keywords.is_empty() {
            record.keywords = self.keywords.clone();
        }
        record.outputs = self.outputs.clone();
    }
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    schema: String,
    version: u32,
    generator: String,
    photos: Vec<StateEntry>,
}

/// The outcome of the cheap check.
#[derive(Debug)]
pub enum Verdict {
    /// Every output is current: reuse the entry. `refreshed` when only the mtime moved (content
    /// hash equal): the entry carries the new mtime and is journalled so the next run needn't hash.
    Current {
        entry: Box<StateEntry>,
        refreshed: bool,
    },
    /// Process the photo. `stamp` was taken before its bytes are read (`None` if stat failed).
    Redo { stamp: Option<SourceStamp> },
}

/// One run's view of the state: what earlier runs made, and what this run finishes.
pub struct RerunState {
    output_dir: PathBuf,
    policy: RerunPolicy,
    run_settings: u64,
    previous: HashMap<String, StateEntry>,
    /// Every output path an earlier entry claimed (also ones a later journal line replaced),
    /// with its source: the candidates for deletion.
    known_outputs: BTreeMap<String, String>,
    journal: Mutex<Option<File>>,
    finished: Mutex<HashMap<String, StateEntry>>,
}

/// The key of a source: its absolute path (without resolving links, which would cost a syscall).
pub fn source_key(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

fn hex(value: u64) -> String {
    format!("{value:016x}")
}

/// Hash of the settings shared by every photo of a run: the code version and the validated
/// options (resolved presets, template, metadata policy, shoot info, and whatever is added
/// there later) by their `Debug` text, less what does not shape an output (inputs, output
/// folder, workers, this policy). The names sheet or roster is left out too: what it gives each
/// photo is in that photo's own hash, so editing one row redoes only the photos it changes. The
/// compiled tone hides its tables from `Debug`, so it is identified by what it does to a probe
/// image.
pub fn run_settings_hash(options: &RunOptions) -> u64 {
    let mut shaping = options.clone();
    shaping.inputs.clear();
    shaping.naming.source = None;
    shaping.output_dir = PathBuf::new();
    shaping.jobs = None;
    shaping.rerun = RerunPolicy::default();
    let text = format!(
        "headshot {}\n{shaping:?}\ntone {:016x}",
        env!("CARGO_PKG_VERSION"),
        tone_probe(&options.tone.compiled)
    );
    xxh3_64(text.as_bytes())
}

/// What a tone does to 65536 pseudo-random colours (and the sharpening, when it sharpens).
fn tone_probe(tone: &CompiledTone) -> u64 {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut probe = image::RgbImage::from_fn(256, 256, |_, _| {
        // xorshift64: every colour region of a 3D LUT gets samples.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
    });
    tone.apply(&mut probe);
    if tone.sharpens() {
        tone.sharpen(&mut probe);
    }
    xxh3_64(probe.as_raw())
}

/// Hash of everything planned for one photo (output paths, names, EXIF facts...), on top of the
/// run's settings. The source path is left out: it is the key, and may be given relatively. So is
/// the sheet line that named the photo: a row inserted above moves it without changing the output.
pub fn photo_settings_hash(run_settings: u64, photo: &PlannedPhoto) -> u64 {
    let mut planned = photo.clone();
    planned.input.path = PathBuf::new();
    planned.assignment.assigned_by = None;
    xxh3_64(format!("{run_settings:016x}\n{planned:?}").as_bytes())
}

impl RerunState {
    /// Loads the state of earlier runs in `output_dir` (a missing, damaged or foreign state means
    /// everything is redone) and opens the journal for this run.
    pub fn open(
        output_dir: &Path,
        policy: RerunPolicy,
        run_settings: u64,
    ) -> std::io::Result<Self> {
        let mut previous: HashMap<String, StateEntry> = HashMap::new();
        let mut known_outputs = BTreeMap::new();
        let mut remember = |entry: StateEntry, previous: &mut HashMap<String, StateEntry>| {
            for output in &entry.facts.outputs {
                known_outputs.insert(output.path.clone(), entry.source.clone());
            }
            previous.insert(entry.source.clone(), entry);
        };
        if let Ok(text) = fs::read_to_string(output_dir.join(STATE_FILE)) {
            if let Ok(state) = serde_json::from_str::<StateFile>(&text) {
                if state.schema == STATE_SCHEMA && state.version == STATE_VERSION {
                    for entry in state.photos {
                        remember(entry, &mut previous);
                    }
                }
            }
        }
        let journal_path = output_dir.join(JOURNAL_FILE);
        let mut journal_text = String::new();
        if let Ok(mut file) = File::open(&journal_path) {
            let _ = file.read_to_string(&mut journal_text);
        }
        // Later lines win; a line cut short (a crash mid-write) does not parse and is passed over.
        for line in journal_text.lines() {
            if let Ok(entry) = serde_json::from_str::<StateEntry>(line) {
                remember(entry, &mut previous);
            }
        }
        let mut journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)?;
        if !journal_text.is_empty() && !journal_text.ends_with('\n') {
            journal.write_all(b"\n")?;
        }
        Ok(Self {
            output_dir: output_dir.to_path_buf(),
            policy,
            run_settings,
            previous,
            known_outputs,
            journal: Mutex::new(Some(journal)),
            finished: Mutex::new(HashMap::new()),
        })
    }

    pub fn run_settings(&self) -> u64 {
        self.run_settings
    }

    /// Whether `photo`'s outputs are current. Costs a stat of the source and of each output;
    /// reads the source only when its mtime moved but its size did not.
    pub fn check(&self, photo: &PlannedPhoto, settings: u64) -> Verdict {
        let stamp = SourceStamp::of(&photo.input.path).ok();
        if self.policy == RerunPolicy::RedoAll {
            return Verdict::Redo { stamp };
        }
        let key = source_key(&photo.input.path);
        let (Some(stamp), Some(entry)) = (stamp, self.previous.get(&key)) else {
            return Verdict::Redo { stamp };
        };
        let outputs_current = entry.facts.outputs.len() == photo.output_paths.len()
            && entry
                .facts
                .outputs
                .iter()
                .zip(&photo.output_paths)
                .all(|(output, planned)| {
                    output.path == planned.to_string_lossy().replace('\\', "/")
                        && fs::metadata(self.output_dir.join(&output.path))
                            .map(|metadata| metadata.is_file() && metadata.len() == output.bytes)
                            .unwrap_or(false)
                });
        if entry.settings != hex(settings) || entry.size != stamp.size || !outputs_current {
            return Verdict::Redo { stamp: Some(stamp) };
        }
        if entry.mtime_ns == stamp.mtime_ns {
            return Verdict::Current {
                entry: Box::new(entry.clone()),
                refreshed: false,
            };
        }
        // Touched (copied back, restored from a backup...): the same bytes are still current.
        match fs::read(&photo.input.path) {
            Ok(bytes) if hex(xxh3_64(&bytes)) == entry.xxh3 => {
                let mut entry = entry.clone();
                entry.mtime_ns = stamp.mtime_ns;
                Verdict::Current {
                    entry: Box::new(entry),
                    refreshed: true,
                }
            }
            _ => Verdict::Redo { stamp: Some(stamp) },
        }
    }

    /// Records a skipped photo (journalled only when its mtime was refreshed).
    pub fn photo_current(&self, entry: Box<StateEntry>, refreshed: bool) {
        if refreshed {
            self.append(&entry);
        }
        if let Ok(mut finished) = self.finished.lock() {
            finished.insert(entry.source.clone(), *entry);
        }
    }

    /// Records a processed photo once its outputs are written; a failed one leaves no entry.
    pub fn photo_done(
        &self,
        photo: &PlannedPhoto,
        stamp: Option<SourceStamp>,
        settings: u64,
        record: &PhotoRecord,
    ) {
        let (Some(stamp), Some(content_hash)) = (stamp, record.source_xxh3) else {
            return;
        };
        if record.status != Status::Ok {
            return;
        }
        let entry = StateEntry {
            source: source_key(&photo.input.path),
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            xxh3: hex(content_hash),
            settings: hex(settings),
            facts: Facts::from_record(record),
        };
        self.append(&entry);
        if let Ok(mut finished) = self.finished.lock() {
            finished.insert(entry.source.clone(), entry);
        }
    }

    /// One line per photo in one `write`, so a kill never leaves half an entry that parses.
    fn append(&self, entry: &StateEntry) {
        let Ok(mut line) = serde_json::to_string(entry) else {
            return;
        };
        line.push('\n');
        if let Ok(mut journal) = self.journal.lock() {
            if let Some(file) = journal.as_mut() {
                // A lost line only means that photo is redone next time.
                let _ = file.write_all(line.as_bytes());
            }
        }
    }

    /// Ends the run: deletes earlier outputs nothing claims any more, writes the state file and
    /// removes the journal. `photos` are this run's planned photos (all of them, failed too).
    pub fn finish(self, photos: &[PlannedPhoto]) -> std::io::Result<Vec<RemovedOutput>> {
        let this_run: HashSet<String> = photos
            .iter()
            .map(|photo| source_key(&photo.input.path))
            .collect();
        let planned_outputs: HashSet<String> = photos
            .iter()
            .flat_map(|photo| &photo.output_paths)
            .map(|path| path.to_string_lossy().replace('\\', "/"))
            .collect();
        let finished = self.finished.into_inner().unwrap_or_default();
        let mut kept: BTreeMap<String, StateEntry> = BTreeMap::new();
        // Sources this run was not given: kept while they exist and no photo took their names.
        for (source, entry) in &self.previous {
            if this_run.contains(source) || finished.contains_key(source) {
                continue;
            }
            let still_there = Path::new(source).is_file();
            let names_free = entry
                .facts
                .outputs
                .iter()
                .all(|output| !planned_outputs.contains(&output.path));
            if still_there && names_free {
                kept.insert(source.clone(), entry.clone());
            }
        }
        kept.extend(finished);

        let wanted: HashSet<&str> = kept
            .values()
            .flat_map(|entry| entry.facts.outputs.iter().map(|o| o.path.as_str()))
            .collect();
        let mut removed = Vec::new();
        for (path, source) in &self.known_outputs {
            if wanted.contains(path.as_str()) {
                continue;
            }
            let file = self.output_dir.join(path);
            if !file.is_file() || fs::remove_file(&file).is_err() {
                continue;
            }
            let reason = if kept.contains_key(source) {
                "no longer made: file names or derivatives changed"
            } else if this_run.contains(source) {
                "its source failed in this run"
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

        let state = StateFile {
            schema: STATE_SCHEMA.to_string(),
            version: STATE_VERSION,
            generator: format!("headshot {}", env!("CARGO_PKG_VERSION")),
            photos: kept.into_values().collect(),
        };
        let text = serde_json::to_string(&state).map_err(std::io::Error::other)?;
        output::write_atomically(&self.output_dir.join(STATE_FILE), text.as_bytes())?;
        // The state file now holds everything the journal did.
        drop(self.journal.into_inner());
        let _ = fs::remove_file(self.output_dir.join(JOURNAL_FILE));
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            b"{\"source\":\"/x.jpg\",\"size\":1",
        )
        .unwrap();
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent, 7).unwrap();
        assert!(state.previous.is_empty());
        let entry = StateEntry {
            source: "/y.jpg".into(),
            size: 1,
            mtime_ns: 2,
            xxh3: hex(3),
            settings: hex(4),
            facts: Facts {
                width: None,
                height: None,
                warnings: Vec::new(),
                crop: None,
                needs_review: None,
                faces: Vec::new(),
                title: None,
                caption: None,
                keywords: Vec::new(),
                outputs: Vec::new(),
            },
        };
        state.append(&entry);
        drop(state);
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent, 7).unwrap();
        assert_eq!(state.previous.len(), 1);
        assert!(state.previous.contains_key("/y.jpg"));
    }

    #[test]
    fn a_damaged_state_file_means_redo_everything() {
        let folder = tempfile::tempdir().unwrap();
        fs::write(folder.path().join(STATE_FILE), b"{ not json").unwrap();
        let state = RerunState::open(folder.path(), RerunPolicy::SkipCurrent, 7).unwrap();
        assert!(state.previous.is_empty());
    }
}
