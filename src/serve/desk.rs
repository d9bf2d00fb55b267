//! What the desk page shows, built from the last batch's manifest: tiles grouped by person with
//! the review queue first, and the lookups every request is checked against (a photo is known
//! by its manifest entry, never by a path from the request).
//!
//! Only what a volunteer needs is sent: no face data of any kind (descriptors stay in the
//! analysis cache), no absolute output paths.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::corrections::CorrectionAction;
use crate::manifest::{Manifest, OutputRecord, PhotoRecord, Status};

/// The desk's view of the gallery, replaced after each batch.
#[derive(Debug, Default)]
pub struct DeskState {
    /// Goes up by one with every change the page should show.
    pub version: u64,
    /// A batch is running.
    pub busy: bool,
    /// The last batch's error (settings that no longer load, a folder that cannot be written).
    pub error: Option<String>,
    /// Names to offer while typing: roster, sheet and names already given.
    pub names: Vec<String>,
    manifest: Option<Manifest>,
    /// Photo id -> index in `manifest.photos`.
    by_id: HashMap<String, usize>,
    /// Manifest `source` -> the correction that decides the photo now (what undo restores).
    corrected: HashMap<String, Corrected>,
}

/// A photo's correction as the page shows it: what undoing a later action writes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Corrected {
    pub action: CorrectionAction,
    pub name: String,
}

/// One photo on the page.
#[derive(Debug, Serialize)]
pub struct Tile {
    /// Stable handle for URLs (a hash of `source`).
    pub id: String,
    /// The manifest's `source`: what actions name.
    pub source: String,
    pub file: String,
    pub person: Option<String>,
    pub role: String,
    pub status: String,
    /// Why it is in the review queue (or the error of a failed photo).
    pub reason: Option<String>,
    pub face_group: Option<String>,
    pub capture_time: Option<String>,
    /// The smallest derivative, with a version that changes when its file does.
    pub thumb: Option<String>,
    /// Final output paths, relative to the gallery: the names a volunteer checks.
    pub outputs: Vec<String>,
    /// Its own correction, if one decides it (else undo writes `clear`).
    pub corrected: Option<Corrected>,
}

/// Tiles under one heading.
#[derive(Debug, Serialize)]
pub struct Group {
    /// `review`, `person`, `unnamed` or the photo's role (`slate`...).
    pub kind: String,
    pub title: String,
    pub tiles: Vec<Tile>,
}

/// `GET /api/state`.
#[derive(Debug, Serialize)]
pub struct StateView<'a> {
    pub version: u64,
    pub busy: bool,
    pub error: Option<&'a str>,
    pub summary: Option<String>,
    pub groups: Vec<Group>,
    pub names: &'a [String],
}

/// The id of the photo whose manifest `source` is `source`: 16 hex digits.
pub fn photo_id(source: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(source.as_bytes()))
}

fn role_text(photo: &PhotoRecord) -> String {
    serde_json::to_value(photo.role)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Why `photo` belongs in the review queue, if it does.
fn review_reason(photo: &PhotoRecord) -> Option<String> {
    if photo.status == Status::Failed {
        return Some(photo.error.clone().unwrap_or_else(|| "failed".to_string()));
    }
    if let Some(reason) = &photo.needs_review {
        return Some(reason.clone());
    }
    let portrait = role_text(photo) == "portrait";
    match (&photo.face_group, &photo.person) {
        (Some(group), None) if portrait => Some(format!("unnamed; same face as {group}")),
        (None, None) if portrait => Some("unnamed".to_string()),
        _ => None,
    }
}

fn smallest_output(photo: &PhotoRecord) -> Option<&OutputRecord> {
    photo
        .outputs
        .iter()
        .min_by_key(|output| u64::from(output.width) * u64::from(output.height))
}

fn tile(photo: &PhotoRecord, reason: Option<String>) -> Tile {
    let id = photo_id(&photo.source);
    let thumb = smallest_output(photo).map(|output| {
        let version =
            xxhash_rust::xxh3::xxh3_64(format!("{}:{}", output.path, output.bytes).as_bytes());
        format!("/thumb/{id}?v={version:x}")
    });
    Tile {
        file: std::path::Path::new(&photo.source)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| photo.source.clone()),
        source: photo.source.clone(),
        person: photo.person.as_ref().map(|person| person.name.clone()),
        role: role_text(photo),
        status: serde_json::to_value(photo.status)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default(),
        reason,
        face_group: photo.face_group.clone(),
        capture_time: photo.capture_time.clone(),
        thumb,
        outputs: photo.outputs.iter().map(|o| o.path.clone()).collect(),
        corrected: None,
        id,
    }
}

/// Review queue first (face groups side by side), then each person in order of their first
/// photo, then the other roles (slates...).
pub fn group_tiles(photos: &[PhotoRecord]) -> Vec<Group> {
    let mut review: Vec<(usize, &PhotoRecord, String)> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut add = |kind: &str, title: &str, tile: Tile| match groups
        .iter_mut()
        .find(|g| g.kind == kind && g.title == title)
    {
        Some(group) => group.tiles.push(tile),
        None => groups.push(Group {
            kind: kind.to_string(),
            title: title.to_string(),
            tiles: vec![tile],
        }),
    };
    for (index, photo) in photos.iter().enumerate() {
        let role = role_text(photo);
        if let Some(reason) = review_reason(photo) {
            review.push((index, photo, reason));
        } else if role != "portrait" {
            add(&role, &role, tile(photo, None));
        } else if let Some(person) = &photo.person {
            add("person", &person.name, tile(photo, None));
        } else {
            add("unnamed", "unnamed", tile(photo, None));
        }
    }
    groups.sort_by_key(|group| group.kind != "person");
    review.sort_by_key(|(index, photo, _)| {
        (photo.face_group.is_none(), photo.face_group.clone(), *index)
    });
    if !review.is_empty() {
        let tiles = review
            .into_iter()
            .map(|(_, photo, reason)| tile(photo, Some(reason)))
            .collect();
        groups.insert(
            0,
            Group {
                kind: "review".to_string(),
                title: "To review".to_string(),
                tiles,
            },
        );
    }
    groups
}

impl DeskState {
    /// An empty desk offering `names` while typing.
    pub fn new(names: Vec<String>) -> Self {
        Self {
            names,
            ..Self::default()
        }
    }

    /// Takes a finished batch's manifest, and the corrections that decided its photos, and
    /// shows them.
    pub fn show(&mut self, manifest: Manifest, corrected: HashMap<String, Corrected>) {
        self.corrected = corrected;
        self.by_id = manifest
            .photos
            .iter()
            .enumerate()
            .map(|(index, photo)| (photo_id(&photo.source), index))
            .collect();
        for photo in &manifest.photos {
            if let Some(person) = &photo.person {
                if !self.names.contains(&person.name) {
                    self.names.push(person.name.clone());
                }
            }
        }
        self.manifest = Some(manifest);
        self.error = None;
        self.version += 1;
    }

    /// The page's state.
    pub fn view(&self) -> StateView<'_> {
        let photos = self
            .manifest
            .as_ref()
            .map(|m| m.photos.as_slice())
            .unwrap_or_default();
        StateView {
            version: self.version,
            busy: self.busy,
            error: self.error.as_deref(),
            summary: self.manifest.as_ref().map(|manifest| {
                let summary = &manifest.summary;
                format!(
                    "{} photos, {} need review, {} failed",
                    summary.photos, summary.needs_review, summary.failed
                )
            }),
            groups: self.with_corrections(group_tiles(photos)),
            names: &self.names,
        }
    }

    fn with_corrections(&self, mut groups: Vec<Group>) -> Vec<Group> {
        for tile in groups.iter_mut().flat_map(|group| group.tiles.iter_mut()) {
            tile.corrected = self.corrected.get(&tile.source).cloned();
        }
        groups
    }

    /// The manifest entry of the photo whose `source` is exactly `source`.
    pub fn photo(&self, source: &str) -> Option<&PhotoRecord> {
        self.manifest
            .as_ref()?
            .photos
            .iter()
            .find(|photo| photo.source == source)
    }

    /// The smallest derivative of photo `id`, relative to the gallery, as the manifest lists it.
    pub fn thumbnail(&self, id: &str) -> Option<(PathBuf, String)> {
        let manifest = self.manifest.as_ref()?;
        let photo = &manifest.photos[*self.by_id.get(id)?];
        let output = smallest_output(photo)?;
        let format = serde_json::to_value(output.format)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        Some((PathBuf::from(&output.path), format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::OutputFormat;
    use crate::manifest::{CropRecord, Exposure, FaceRecord, PresetsUsed};
    use crate::names::{Person, Role};

    fn photo(source: &str, person: Option<&str>, face_group: Option<&str>) -> PhotoRecord {
        PhotoRecord {
            source: source.to_string(),
            status: Status::Ok,
            error: None,
            error_stage: None,
            warnings: Vec::new(),
            format: None,
            width: Some(600),
            height: Some(800),
            orientation: 1,
            capture_time: None,
            camera: None,
            camera_id: None,
            photographer: None,
            lens: None,
            exposure: Exposure::default(),
            presets: PresetsUsed {
                crop: "original".into(),
                tone: "neutral".into(),
                export: "web".into(),
            },
            crop: None,
            needs_review: None,
            role: Role::Portrait,
            person: person.map(Person::named),
            assigned_by: None,
            person_seq: None,
            faces: vec![FaceRecord {
                bbox: [1.0, 2.0, 3.0, 4.0],
                score: 0.9,
                eyes: [[1.5, 2.5], [3.0, 2.5]],
            }],
            face_group: face_group.map(str::to_string),
            face_exposure_ev: None,
            title: None,
            caption: None,
            keywords: Vec::new(),
            outputs: [("large", 600), ("thumb", 300)]
                .iter()
                .map(|(derivative, width)| OutputRecord {
                    derivative: derivative.to_string(),
                    path: format!("{source}_{derivative}.jpg"),
                    width: *width,
                    height: width * 4 / 3,
                    bytes: 1000,
                    format: OutputFormat::Jpeg,
                    quality: 85,
                    crop: CropRecord {
                        x: 0,
                        y: 0,
                        width: 600,
                        height: 800,
                        rotation_degrees: 0.0,
                        anchor: "center".into(),
                    },
                })
                .collect(),
            source_xxh3: None,
        }
    }

    #[test]
    fn the_review_queue_comes_first_with_face_groups_side_by_side() {
        let mut failed = photo("f", None, None);
        failed.status = Status::Failed;
        failed.error = Some("decode: truncated".into());
        let mut slate = photo("s", None, None);
        slate.role = Role::Slate;
        slate.outputs.clear();
        let photos = vec![
            photo("a1", Some("Ann"), None),
            photo("x1", None, Some("face-2")),
            photo("b1", Some("Ben"), None),
            photo("y1", None, Some("face-1")),
            failed,
            photo("x2", None, Some("face-2")),
            slate,
            photo("a2", Some("Ann"), None),
        ];
        let groups = group_tiles(&photos);
        let titles: Vec<&str> = groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(titles, ["To review", "Ann", "Ben", "slate"]);
        let review: Vec<&str> = groups[0].tiles.iter().map(|t| t.source.as_str()).collect();
        assert_eq!(review, ["y1", "x1", "x2", "f"]);
        assert_eq!(
            groups[0].tiles[3].reason.as_deref(),
            Some("decode: truncated")
        );
        assert_eq!(groups[1].tiles.len(), 2);
        // The tile shows the smallest derivative, versioned by its file.
        let thumb = groups[1].tiles[0].thumb.as_deref().unwrap();
        assert!(
            thumb.starts_with(&format!("/thumb/{}?v=", photo_id("a1"))),
            "{thumb}"
        );
    }

    #[test]
    fn the_page_gets_no_face_data_and_finds_photos_only_by_manifest_entry() {
        let mut desk = DeskState::default();
        let manifest_photos = vec![photo("shoot/a1.jpg", Some("Ann"), None)];
        desk.show(
            Manifest {
                schema: "headshot-manifest",
                version: crate::manifest::MANIFEST_VERSION,
                generator: "test".into(),
                settings: crate::manifest::Settings {
                    crop: "original".into(),
                    tone: "neutral".into(),
                    export: "web".into(),
                    template: "{stem}_{derivative}.{ext}".into(),
                    derivatives: vec!["large".into(), "thumb".into()],
                },
                summary: crate::manifest::Summary::default(),
                timing: crate::manifest::Timing::default(),
                review: None,
                cameras: Vec::new(),
                photos: manifest_photos,
            },
            HashMap::new(),
        );
        let json = serde_json::to_string(&desk.view()).unwrap();
        assert!(!json.contains("faces") && !json.contains("score"), "{json}");
        assert_eq!(desk.names, ["Ann"]);
        assert!(desk.photo("shoot/a1.jpg").is_some());
        assert!(desk.photo("shoot/../shoot/a1.jpg").is_none());
        let (thumb, format) = desk.thumbnail(&photo_id("shoot/a1.jpg")).unwrap();
        assert_eq!(
            (thumb.to_str(), format.as_str()),
            (Some("shoot/a1.jpg_thumb.jpg"), "jpeg")
        );
        assert!(desk.thumbnail("../manifest.json").is_none());
    }
}
