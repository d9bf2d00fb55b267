//! `headshot serve`: the live tagging desk. Runs the shoot like `run`, then watches the shoot
//! folders and re-runs the same passes (through [`Job`]) for each batch of photos that
//! arrive, change or go, and for each volunteer's action on the desk page (appended to
//! `corrections.csv` first, so the file stays the one truth `run` reads too).
//!
//! One thread owns the loop and runs every batch; the HTTP workers only read the desk's state
//! and hand actions over. The output-folder lock is the caller's, held for the whole serve; a
//! batch never takes it again.

pub mod desk;
pub mod http;
pub mod watch;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use notify::Watcher;

use crate::config::RunFlags;
use crate::corrections::{self, Correction, CorrectionAction};
use crate::error::ConfigError;
use crate::names::plan::NamesFrom;
use crate::pipeline::{Job, RunReport};
use crate::plan::RunOptions;

use desk::{Corrected, DeskState};
use watch::{Change, Completeness};

/// The default `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// How often pending files are looked at again.
const TICK: Duration = Duration::from_millis(250);
/// Threads answering the page (thumbnails load in parallel while an action waits).
const HTTP_THREADS: usize = 4;

/// What the desk tells its caller (the CLI prints it).
#[derive(Debug)]
pub enum ServeEvent<'a> {
    /// The desk is up at `url` (with the access token when one is needed).
    Listening { url: &'a str },
    /// A batch finished; `changes` are the files that started it (empty for the first run
    /// and for actions).
    Batch {
        report: &'a RunReport,
        changes: &'a [Change],
    },
    /// A batch could not run (the previous gallery stays as it was).
    BatchFailed { error: &'a ConfigError },
    /// Ctrl-C: the photos in flight were finished; the next `run` or `serve` goes on from here.
    Interrupted,
}

/// A volunteer's action on some photos, checked against the manifest.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub action: CorrectionAction,
    /// The name typed (or a code to expand); empty for the other actions.
    pub name: String,
    /// Manifest `source`s.
    pub sources: Vec<String>,
    pub by: String,
}

impl ActionRequest {
    /// Parses an action (`name`, `slate`, `reject`, `unname`, `clear`) and, for `name` and
    /// `slate`, the name (a slate's is optional: undo puts back a named slate as it was).
    pub fn new(
        action: &str,
        name: Option<&str>,
        sources: Vec<String>,
        by: String,
    ) -> Result<Self, String> {
        let action = match action {
            "name" => CorrectionAction::Name,
            "slate" => CorrectionAction::Slate,
            "reject" => CorrectionAction::Reject,
            "unname" => CorrectionAction::Unname,
            "clear" => CorrectionAction::Clear,
            other => return Err(format!("unknown action {other:?}")),
        };
        let name = name.unwrap_or_default().trim().to_string();
        let is_name = matches!(action, CorrectionAction::Name);
        let keeps_name = matches!(action, CorrectionAction::Name | CorrectionAction::Slate);
        if (is_name && name.is_empty()) || name.chars().count() > 200 {
            return Err("a name has 1 to 200 characters".to_string());
        }
        if name.chars().any(char::is_control) {
            return Err("a name has no control characters".to_string());
        }
        Ok(Self {
            action,
            name: if keeps_name { name } else { String::new() },
            sources,
            by,
        })
    }
}

/// What the loop is handed.
pub enum Work {
    /// Paths a watcher event named.
    Touched(Vec<PathBuf>),
    /// An action from the page; the sender hears when the gallery shows it.
    Correct(ActionRequest, mpsc::Sender<Result<(), String>>),
}

/// Runs the desk until `stop` is set. `options` are the first resolve of `flags` (each batch
/// resolves again, so an edited sheet or shoot file counts).
pub fn serve(
    flags: &RunFlags,
    options: RunOptions,
    listen: SocketAddr,
    stop: &AtomicBool,
    report: &dyn Fn(ServeEvent<'_>),
) -> Result<(), ConfigError> {
    let server = tiny_http::Server::http(listen)
        .map_err(|error| ConfigError::Usage(format!("cannot listen on {listen}: {error}")))?;
    let bound = http::bound_address(&server).unwrap_or(listen);
    let secret = |purpose: &str| {
        http::random_token().map_err(|error| ConfigError::Usage(format!("{purpose}: {error}")))
    };
    let token = if listen.ip().is_loopback() {
        None
    } else {
        Some(secret("access token")?)
    };
    let access = http::Access {
        token: token.clone(),
        csrf: secret("anti-CSRF token")?,
        port: bound.port(),
    };
    let desk = Arc::new(Mutex::new(DeskState::new(known_names(&options))));
    let (work, inbox) = mpsc::channel();
    let _watcher = watch_inputs(&options, work.clone())?;
    let context = Arc::new(http::Context {
        access,
        desk: desk.clone(),
        output_dir: options.output_dir.clone(),
        work,
    });
    let http_stop = Arc::new(AtomicBool::new(false));
    let workers = http::spawn_workers(Arc::new(server), context, HTTP_THREADS, http_stop.clone());
    let url = desk_url(bound, token.as_deref());
    report(ServeEvent::Listening { url: &url });
    let mut desk_loop = DeskLoop {
        flags,
        options,
        desk,
        stop,
        report,
        pending: Completeness::default(),
        waiting: Vec::new(),
        corrected: false,
    };
    let outcome = desk_loop.run(&inbox);
    http_stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    outcome
}

/// The URL to open: the bound address (an unspecified one shown as this machine's name for
/// the LAN is unknown here, so as given) with the token when one is needed.
fn desk_url(bound: SocketAddr, token: Option<&str>) -> String {
    match token {
        Some(token) => format!("http://{bound}/?token={token}"),
        None => format!("http://{bound}/"),
    }
}

/// Names to offer while typing: the roster's or the sheet's.
fn known_names(options: &RunOptions) -> Vec<String> {
    let mut names: Vec<String> = match &options.naming.source {
        Some(NamesFrom::Sheet(sheet)) => sheet
            .entries
            .iter()
            .map(|e| e.person.name.clone())
            .collect(),
        Some(NamesFrom::Slates {
            roster: Some(roster),
        }) => roster
            .entries
            .iter()
            .map(|e| e.person.name.clone())
            .collect(),
        _ => Vec::new(),
    };
    let mut seen = HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    names
}

/// Watches every input (folders recursively); events go to the loop as [`Work::Touched`].
fn watch_inputs(
    options: &RunOptions,
    work: mpsc::Sender<Work>,
) -> Result<notify::RecommendedWatcher, ConfigError> {
    let output_dir =
        std::fs::canonicalize(&options.output_dir).unwrap_or(options.output_dir.clone());
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        // Our own writes into an output folder inside the shoot are no news.
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|path| !path.starts_with(&output_dir))
            .collect();
        if !paths.is_empty() {
            let _ = work.send(Work::Touched(paths));
        }
    })
    .map_err(|error| ConfigError::Usage(format!("cannot watch the shoot: {error}")))?;
    for input in &options.inputs {
        let path = std::fs::canonicalize(input).map_err(|source| ConfigError::Io {
            path: input.clone(),
            source,
        })?;
        let mode = if path.is_dir() {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        watcher.watch(&path, mode).map_err(|error| {
            ConfigError::Usage(format!("cannot watch {}: {error}", path.display()))
        })?;
    }
    Ok(watcher)
}

/// The loop's state: settings, the desk it updates, files not yet whole, actions waiting
/// for their batch.
struct DeskLoop<'a> {
    flags: &'a RunFlags,
    options: RunOptions,
    desk: Arc<Mutex<DeskState>>,
    stop: &'a AtomicBool,
    report: &'a dyn Fn(ServeEvent<'_>),
    pending: Completeness,
    waiting: Vec<mpsc::Sender<Result<(), String>>>,
    corrected: bool,
}

impl DeskLoop<'_> {
    fn run(&mut self, inbox: &mpsc::Receiver<Work>) -> Result<(), ConfigError> {
        if !self.batch(inbox, &[])? {
            return Ok(());
        }
        while !self.stop.load(Ordering::Relaxed) {
            if let Ok(work) = inbox.recv_timeout(TICK) {
                self.take(work);
            }
            self.drain(inbox);
            let changes = self.pending.check(Instant::now());
            if changes.is_empty() && !self.corrected {
                continue;
            }
            if !self.batch(inbox, &changes)? {
                return Ok(());
            }
        }
        (self.report)(ServeEvent::Interrupted);
        Ok(())
    }

    fn drain(&mut self, inbox: &mpsc::Receiver<Work>) {
        while let Ok(work) = inbox.try_recv() {
            self.take(work);
        }
    }

    fn take(&mut self, work: Work) {
        match work {
            Work::Touched(paths) => {
                let now = Instant::now();
                for path in paths {
                    self.pending.touched(&path, now);
                }
            }
            Work::Correct(action, done) => match self.append(&action) {
                Ok(()) => {
                    self.corrected = true;
                    self.waiting.push(done);
                }
                Err(message) => {
                    let _ = done.send(Err(message));
                }
            },
        }
    }

    /// Appends the action's rows to `corrections.csv` (a code typed as a name expanded).
    fn append(&self, action: &ActionRequest) -> Result<(), String> {
        let time = utc_now_rfc3339();
        let name = self.expand_name(&action.name);
        let rows: Vec<Correction> = action
            .sources
            .iter()
            .map(|source| Correction {
                source: source.clone(),
                name: name.clone(),
                action: action.action,
                time: time.clone(),
                by: action.by.clone(),
            })
            .collect();
        corrections::append_corrections(&self.options.output_dir, &rows)
            .map_err(|error| format!("cannot save the correction: {error}"))
    }

    /// A Photo Mechanic code (`=j23=` or `j23`) typed as a name, as its name.
    fn expand_name(&self, typed: &str) -> String {
        let codes = self.options.naming.codes.as_ref();
        codes
            .and_then(|codes| codes.expand_code(typed))
            .unwrap_or(typed)
            .to_string()
    }

    /// Runs one batch and shows it, then tells the actions it carried; `Ok(false)` when Ctrl-C
    /// stopped it midway.
    fn batch(
        &mut self,
        inbox: &mpsc::Receiver<Work>,
        changes: &[Change],
    ) -> Result<bool, ConfigError> {
        // Files that began arriving since the last look are left out of this batch.
        self.drain(inbox);
        self.corrected = false;
        let waiting = std::mem::take(&mut self.waiting);
        let shown = self.run_and_show(changes);
        for done in waiting {
            let _ = done.send(Ok(()));
        }
        Ok(shown)
    }

    fn run_and_show(&mut self, changes: &[Change]) -> bool {
        // Settings edited into a mistake: the batch runs with the last good ones, and says so.
        let settings_error = match RunOptions::resolve(self.flags) {
            Ok(options) => {
                self.options = options;
                None
            }
            Err(error) => {
                (self.report)(ServeEvent::BatchFailed { error: &error });
                Some(error.to_string())
            }
        };
        self.set_desk(|desk| {
            desk.busy = true;
            desk.version += 1;
        });
        let outcome = self.run_job();
        self.set_desk(|desk| desk.busy = false);
        match outcome {
            Ok(Some((run, corrected))) => {
                (self.report)(ServeEvent::Batch {
                    report: &run,
                    changes,
                });
                let names = known_names(&self.options);
                self.set_desk(|desk| {
                    for name in names {
                        if !desk.names.contains(&name) {
                            desk.names.push(name);
                        }
                    }
                    desk.show(run.manifest, corrected);
                    desk.error = settings_error;
                });
                true
            }
            Ok(None) => {
                (self.report)(ServeEvent::Interrupted);
                false
            }
            Err(error) => {
                (self.report)(ServeEvent::BatchFailed { error: &error });
                self.set_desk(|desk| {
                    desk.error = Some(error.to_string());
                    desk.version += 1;
                });
                true
            }
        }
    }

    /// Plans the shoot as it is now, less files still being written, and runs it.
    fn run_job(&mut self) -> Result<Option<(RunReport, CorrectedPhotos)>, ConfigError> {
        let mut job = Job::plan(self.options.clone())?;
        let pending: HashSet<PathBuf> = self.pending.pending().filter_map(canonical).collect();
        let now = SystemTime::now();
        let mut written_just_now = Vec::new();
        job.photos.retain(|photo| {
            let path = &photo.input.path;
            let fresh = std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| {
                    // A time in the future (a camera's clock) is no sign of a write.
                    now.duration_since(modified)
                        .is_ok_and(|age| age < watch::SETTLE)
                });
            if fresh {
                written_just_now.push(path.clone());
            }
            !watch::is_temporary_name(path)
                && !fresh
                && (pending.is_empty() || canonical(path).is_none_or(|p| !pending.contains(&p)))
        });
        // Left out now, looked at again until whole (no watcher event may come for them).
        let instant = Instant::now();
        for path in written_just_now {
            self.pending.touched(&path, instant);
        }
        // The corrections were matched to the photos as planned: match them to those left.
        job.reload_corrections()?;
        let corrected = corrected_photos(&job);
        Ok(job
            .run_until(&|_| {}, self.stop)?
            .map(|run| (run, corrected)))
    }

    fn set_desk(&self, change: impl FnOnce(&mut DeskState)) {
        if let Ok(mut desk) = self.desk.lock() {
            change(&mut desk);
        }
    }
}

/// Each corrected photo's correction, by manifest `source`: what the page's undo restores.
type CorrectedPhotos = HashMap<String, Corrected>;

fn corrected_photos(job: &Job) -> CorrectedPhotos {
    job.photos
        .iter()
        .zip(&job.corrections.per_photo)
        .filter_map(|(photo, correction)| {
            let correction = correction.as_ref()?;
            let name = correction.person.as_ref().map(|p| p.name.clone());
            let corrected = Corrected {
                action: correction.action,
                name: name.unwrap_or_default(),
            };
            Some((photo.input.path.display().to_string(), corrected))
        })
        .collect()
}

fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// Now as RFC 3339 UTC with seconds (`2026-12-04T18:55:00Z`), for `corrections.csv`.
pub use crate::corrections::utc_now_rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_checked_before_anything_is_written() {
        let sources = vec!["shoot/a.jpg".to_string()];
        let by = "desk".to_string();
        assert!(ActionRequest::new("name", Some("  "), sources.clone(), by.clone()).is_err());
        assert!(ActionRequest::new("delete", None, sources.clone(), by.clone()).is_err());
        assert!(ActionRequest::new("name", Some("A\u{7}"), sources.clone(), by.clone()).is_err());
        let named = ActionRequest::new("name", Some(" Ann Lee "), sources.clone(), by.clone());
        assert_eq!(named.map(|a| a.name).as_deref(), Ok("Ann Lee"));
        let slate = ActionRequest::new("slate", Some(" Ann "), sources.clone(), by.clone());
        assert_eq!(slate.map(|a| a.name).as_deref(), Ok("Ann"));
        let reject = ActionRequest::new("reject", Some("ignored"), sources, by);
        assert_eq!(reject.map(|a| a.name).as_deref(), Ok(""));
    }
}
