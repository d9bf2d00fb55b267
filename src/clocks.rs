//! Each camera's clock, decided across the shoot after every photo is analysed: its offset
//! (what to add to its capture times) from its first clock slate, else from the shoot files and
//! `--clock-offset`; and the shoot's capture order on the corrected clocks.
//!
//! A clock slate beats the settings for its camera: it is a measurement, they are guesses.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use jiff::civil::DateTime;
use jiff::SignedDuration;
use serde::{Serialize, Serializer};

use crate::decide::PhotoFacts;
use crate::names::ClockOffset;
use crate::plan::RunOptions;
use crate::shoot_files::Origin;

/// Two clock slates of one camera further apart than this are worth a warning.
const SLATES_DISAGREE_ABOVE: SignedDuration = SignedDuration::from_secs(1);

/// Where a camera's clock offset came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockSource {
    /// The camera's first clock slate (its path relative to its input folder).
    Slate { photo: PathBuf },
    /// A shoot file key, a camera table or the flag.
    Setting(Origin),
}

/// `clock slate IMG_0007.JPG`, `shoot file shoot/headshot.toml:3`, `camera table "SN-1" in
/// shoot/headshot.toml:7`, `flag`.
impl fmt::Display for ClockSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockSource::Slate { photo } => write!(formatter, "clock slate {}", photo.display()),
            ClockSource::Setting(origin @ Origin::File { .. }) => {
                write!(formatter, "shoot file {origin}")
            }
            ClockSource::Setting(origin) => write!(formatter, "{origin}"),
        }
    }
}

impl Serialize for ClockSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One camera of the shoot, as the manifest and the summary list it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraClock {
    /// [`crate::exif_info::ExifInfo::camera_id`].
    pub id: String,
    /// Make and model.
    pub camera: Option<String>,
    pub photos: usize,
    /// Added to this camera's capture times; `None` when nothing set one (zero applies).
    pub clock_offset: Option<ClockOffset>,
    pub clock_source: Option<ClockSource>,
    /// The credit its first photo carries (the photographer).
    pub credit: Option<String>,
}

/// Every camera's clock, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShootClocks {
    pub cameras: Vec<CameraClock>,
    /// Clock slates that disagree with their camera's first: (the later slate's path, why).
    pub warnings: Vec<(PathBuf, String)>,
    by_id: HashMap<String, usize>,
}

impl ShootClocks {
    /// Each camera's offset: its first clock slate (in its own capture order), else its setting.
    pub fn decide(facts: &[PhotoFacts<'_>], options: &RunOptions) -> Self {
        let mut clocks = ShootClocks::default();
        // (offset, slate) per camera: the first slate's, checked against the later ones.
        let mut measured: HashMap<usize, (SignedDuration, PathBuf)> = HashMap::new();
        let mut in_camera_order: Vec<&PhotoFacts<'_>> = facts.iter().collect();
        in_camera_order.sort_by_key(|fact| fact.photo.exif.capture_time);
        for fact in in_camera_order {
            let photo = fact.photo;
            let id = photo.camera_id();
            let index = *clocks.by_id.entry(id.clone()).or_insert_with(|| {
                let setting = options
                    .shoot_layers
                    .clock_offset_for(&photo.input.path, &photo.exif);
                clocks.cameras.push(CameraClock {
                    id: id.clone(),
                    camera: photo.exif.camera(),
                    photos: 0,
                    clock_offset: setting.as_ref().map(|(offset, _)| *offset),
                    clock_source: setting.map(|(_, origin)| ClockSource::Setting(origin)),
                    credit: options.shoot_for(photo).credit,
                });
                clocks.cameras.len() - 1
            });
            let camera = &mut clocks.cameras[index];
            camera.photos += 1;
            let reading = fact.analysis.and_then(|analysis| analysis.clock_reading());
            let (Some(reading), Some(capture)) = (reading, photo.exif.capture_time) else {
                continue;
            };
            let offset = reading.offset_of(capture.local);
            let slate = photo.input.relative.clone();
            match measured.get(&index) {
                None => {
                    camera.clock_offset = Some(clock_offset(offset));
                    camera.clock_source = Some(ClockSource::Slate {
                        photo: slate.clone(),
                    });
                    measured.insert(index, (offset, slate));
                }
                Some((first, first_slate)) if (offset - *first).abs() > SLATES_DISAGREE_ABOVE => {
                    let why = format!(
                        "clock slate disagrees with {} of the same camera by more than a second \
                         ({} against {}); the first is used",
                        first_slate.display(),
                        clock_offset(offset),
                        clock_offset(*first),
                    );
                    clocks.warnings.push((photo.input.path.clone(), why));
                }
                Some(_) => {}
            }
        }
        clocks
    }

    /// The offset applied to a camera's times (zero when none was set).
    pub fn offset_of(&self, camera_id: &str) -> ClockOffset {
        self.by_id
            .get(camera_id)
            .and_then(|&index| self.cameras[index].clock_offset)
            .unwrap_or(ClockOffset::ZERO)
    }

    /// The warnings about the clock slate at `path`, if any.
    pub fn warnings_for<'s>(
        &'s self,
        path: &'s std::path::Path,
    ) -> impl Iterator<Item = String> + 's {
        self.warnings
            .iter()
            .filter(move |(slate, _)| slate == path)
            .map(|(_, why)| why.clone())
    }

    /// A photo's capture time on the corrected clock.
    pub fn corrected_time(&self, fact: &PhotoFacts<'_>) -> Option<DateTime> {
        let offset = self.offset_of(&fact.photo.camera_id());
        let capture = fact.photo.exif.capture_time?;
        Some(capture.corrected(offset.as_duration()))
    }

    /// The shoot's capture order across cameras: corrected time, then path; photos without a
    /// capture time last, by path. Indexes into `facts`.
    pub fn capture_order(&self, facts: &[PhotoFacts<'_>]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..facts.len()).collect();
        order.sort_by_cached_key(|&index| {
            let corrected = self.corrected_time(&facts[index]);
            (
                corrected.is_none(),
                corrected,
                facts[index].photo.input.path.clone(),
            )
        });
        order
    }
}

fn clock_offset(span: SignedDuration) -> ClockOffset {
    ClockOffset::from_micros(i64::try_from(span.as_micros()).unwrap_or(i64::MAX))
}
