//! What the desk page shows, built from the last batch's manifest: tiles grouped by person with
//! the review queue first, and the lookups every request is checked against (a photo is known
//! by its manifest entry, never by a path from the request).
//!
//! Only what a volunteer needs is sent: no face data of any kind (descriptors stay in the
//! analysis cache), no absolute output paths.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

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
        let version = xxhash_rust::xxh3::xxh3_64(format!("{}:{}", output.path, output.bytes).as_bytes());
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
        id,
    }
}

/// Review queue first (face groups side by side), then each person in order of their first
/// photo, then the other roles (slates...).
pub fn group_tiles(photos: &[PhotoRecord]) -> Vec<Group> {
    let mut review: Vec<(usize, &PhotoRecord, String)> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut add = |kind: &str, title: &str, tile: Tile| {
        match groups.iter_mut().find(|g| g.kind == kind && g.title == title) {
            Some(group) => group.tiles.push(tile),
            None => groups.push(Group {
                kind: kind.to_string(),
                title: title.to_string(),
                tiles: vec![tile],
            }),
        }
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
    /// Takes a finished batch's manifest and shows it.
    pub fn show(&mut self, manifest: Manifest) {
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
        let photos = self.manifest.as_ref().map(|m| m.photos.as_slice()).unwrap_or_default();
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
            groups: group_tiles(photos),
            names: &self.names,
        }
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
