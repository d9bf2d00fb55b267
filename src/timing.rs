//! Worker time per stage and work counts, added to by every worker, for the manifest's timing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::manifest::StageSeconds;

/// The stages a run's time is reported in.
#[derive(Debug, Clone, Copy)]
pub enum TimedStage {
    Decode,
    Analyse,
    Tone,
    Resize,
    Encode,
    Write,
    Decide,
    Finish,
}

/// Nanoseconds per stage.
#[derive(Debug, Default)]
pub struct StageClock([AtomicU64; 8]);

impl StageClock {
    /// Adds the time since `*since` to `stage` and restarts `*since`.
    pub fn lap(&self, stage: TimedStage, since: &mut Instant) {
        let now = Instant::now();
        let nanos = now.duration_since(*since).as_nanos() as u64;
        self.0[stage as usize].fetch_add(nanos, Ordering::Relaxed);
        *since = now;
    }

    pub fn seconds(&self) -> StageSeconds {
        let read = |stage: TimedStage| self.0[stage as usize].load(Ordering::Relaxed) as f64 / 1e9;
        StageSeconds {
            decode: read(TimedStage::Decode),
            analyse: read(TimedStage::Analyse),
            tone: read(TimedStage::Tone),
            resize: read(TimedStage::Resize),
            encode: read(TimedStage::Encode),
            write: read(TimedStage::Write),
            decide: read(TimedStage::Decide),
            finish: read(TimedStage::Finish),
        }
    }
}
