//! Face identity in the decide pass: every person's frames must show one face. Frames that do
//! not are flagged (and say whom they look like); unnamed frames whose face clearly matches one
//! named person take the name; the rest are grouped by face so a volunteer names a group once.
//!
//! Works only on the descriptors in the analyses; they never leave the analysis cache (no
//! descriptor goes into a plan, the manifest or a page).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::decide::PhotoFacts;
use crate::faces::cluster::cluster;
use crate::faces::descriptor::{FaceDescriptor, SAME_PERSON_MAX_DISTANCE};
use crate::names::{AssignedBy, FaceMismatch, Person, PhotoAssignment, Review, Role};

/// An unnamed frame takes a name only when the best person is this much nearer than the
/// second best: a wrong name is worse than none.
const PROPAGATION_MARGIN: f32 = 0.1;

/// What identity decided for each photo (same order as the facts).
#[derive(Debug, Clone, Default)]
pub struct IdentityOutcome {
    /// Why a named photo needs review (its face is another's).
    pub review: Vec<Option<String>>,
    /// `face-1`, `face-2`...: unnamed photos with the same face, for naming a group at once.
    pub face_groups: Vec<Option<String>>,
}

/// One described portrait.
struct Described<'a> {
    index: usize,
    descriptor: &'a FaceDescriptor,
    relative: &'a Path,
}

/// A person's face: the frames named for them that agree with each other.
struct Identity<'a> {
    name: String,
    /// The person as the sheet or roster gives them (extra columns too).
    person: Person,
    members: Vec<Described<'a>>,
}

impl Identity<'_> {
    /// Mean distance to the members, and the nearest member.
    fn distance(&self, descriptor: &FaceDescriptor) -> (f32, &Path) {
        let mut total = 0.0;
        let mut nearest = (f32::MAX, Path::new(""));
        for member in &self.members {
            let distance = member.descriptor.distance(descriptor);
            total += distance;
            if distance < nearest.0 {
                nearest = (distance, member.relative);
            }
        }
        (total / self.members.len().max(1) as f32, nearest.1)
    }
}

/// Checks every name against the faces, names clear matches, groups the rest. `assignments`
/// and `review` are updated in place (face names, person numbers, the review lists).
pub fn check_identities(
    facts: &[PhotoFacts<'_>],
    assignments: &mut [PhotoAssignment],
    review: &mut Review,
) -> IdentityOutcome {
    let mut outcome = IdentityOutcome {
        review: vec![None; facts.len()],
        face_groups: vec![None; facts.len()],
    };
    let mut by_person: BTreeMap<String, (Person, Vec<Described<'_>>)> = BTreeMap::new();
    let mut unnamed: Vec<Described<'_>> = Vec::new();
    for (index, (fact, assignment)) in facts.iter().zip(assignments.iter()).enumerate() {
        let Some(descriptor) = fact.analysis.and_then(|a| a.main_descriptor()) else {
            continue;
        };
        if assignment.role != Role::Portrait {
            continue;
        }
        let described = Described {
            index,
            descriptor,
            relative: &fact.photo.input.relative,
        };
        match &assignment.person {
            Some(person) => by_person
                .entry(person.name.clone())
                .or_insert_with(|| (person.clone(), Vec::new()))
                .1
                .push(described),
            // A frame a correction unnamed stays so: no face names it, nor groups it.
            None if matches!(assignment.assigned_by, Some(AssignedBy::Correction { .. })) => {}
            None => unnamed.push(described),
        }
    }
    let mut identities = Vec::new();
    let mut outliers = Vec::new();
    for (name, (person, frames)) in by_person {
        let (identity, strays) = split_person(name, person, frames);
        identities.push(identity);
        outliers.extend(strays);
    }
    let still_unnamed = name_by_face(&identities, unnamed, assignments);
    let groups = group_unnamed(&still_unnamed, &mut outcome);
    for (person, stray) in outliers {
        let looks_like = looks_like(stray.descriptor, &identities, &groups);
        let others = identities
            .iter()
            .find(|identity| identity.name == person)
            .map_or(0, |identity| identity.members.len());
        let mut reason = format!(
            "face does not match the other {others} photo{} of {person}",
            if others == 1 { "" } else { "s" }
        );
        if let Some(who) = &looks_like {
            reason.push_str(&format!("; looks like {who}"));
        }
        outcome.review[stray.index] = Some(reason);
        review.face_mismatches.push(FaceMismatch {
            photo: stray.relative.to_path_buf(),
            person,
            looks_like,
        });
    }
    renumber(assignments, facts, review);
    outcome
}

/// A person's frames split into the face most of them show (ties: the earliest frame's, the
/// one right after the slate or sheet row) and the frames that show another face.
fn split_person(
    name: String,
    person: Person,
    frames: Vec<Described<'_>>,
) -> (Identity<'_>, Vec<(String, Described<'_>)>) {
    let descriptors: Vec<FaceDescriptor> = frames.iter().map(|f| f.descriptor.clone()).collect();
    let groups = cluster(&descriptors, SAME_PERSON_MAX_DISTANCE);
    let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
    for group in &groups {
        *sizes.entry(*group).or_default() += 1;
    }
    // Groups are numbered by first member, so the lowest id wins a tie.
    let main = sizes
        .iter()
        .max_by(|(a_id, a), (b_id, b)| a.cmp(b).then(b_id.cmp(a_id)))
        .map_or(0, |(id, _)| *id);
    let mut members = Vec::new();
    let mut strays = Vec::new();
    for (frame, group) in frames.into_iter().zip(groups) {
        if group == main {
            members.push(frame);
        } else {
            strays.push((name.clone(), frame));
        }
    }
    (
        Identity {
            name,
            person,
            members,
        },
        strays,
    )
}

/// Names the unnamed frames whose face clearly matches one person; returns the others.
fn name_by_face<'a>(
    identities: &[Identity<'_>],
    unnamed: Vec<Described<'a>>,
    assignments: &mut [PhotoAssignment],
) -> Vec<Described<'a>> {
    let mut remaining = Vec::new();
    for frame in unnamed {
        let mut ranked: Vec<(f32, &Path, &Identity<'_>)> = identities
            .iter()
            .map(|identity| {
                let (distance, like) = identity.distance(frame.descriptor);
                (distance, like, identity)
            })
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        let clear = match ranked.as_slice() {
            [best, second, ..] => {
                best.0 <= SAME_PERSON_MAX_DISTANCE && second.0 - best.0 >= PROPAGATION_MARGIN
            }
            [best] => best.0 <= SAME_PERSON_MAX_DISTANCE,
            [] => false,
        };
        if !clear {
            remaining.push(frame);
            continue;
        }
        let (distance, like, identity) = ranked[0];
        let assignment = &mut assignments[frame.index];
        assignment.person = Some(identity.person.clone());
        assignment.assigned_by = Some(AssignedBy::Face {
            like: like.to_path_buf(),
            distance,
        });
        assignment.unnamed = None;
    }
    remaining
}

/// Unnamed frames grouped by face: `face-1`, `face-2`... in capture order of first member.
fn group_unnamed<'a>(
    unnamed: &'a [Described<'a>],
    outcome: &mut IdentityOutcome,
) -> Vec<Vec<&'a Described<'a>>> {
    let descriptors: Vec<FaceDescriptor> = unnamed.iter().map(|f| f.descriptor.clone()).collect();
    let ids = cluster(&descriptors, SAME_PERSON_MAX_DISTANCE);
    let mut groups: Vec<Vec<&Described<'_>>> = Vec::new();
    for (frame, id) in unnamed.iter().zip(ids) {
        if groups.len() <= id {
            groups.resize_with(id + 1, Vec::new);
        }
        groups[id].push(frame);
        outcome.face_groups[frame.index] = Some(format!("face-{}", id + 1));
    }
    groups
}

/// Whom a stray face looks like: another person, or a group of unnamed photos.
fn looks_like(
    descriptor: &FaceDescriptor,
    identities: &[Identity<'_>],
    groups: &[Vec<&Described<'_>>],
) -> Option<String> {
    let person = identities
        .iter()
        .map(|identity| (identity.distance(descriptor).0, identity.name.clone()))
        .filter(|(distance, _)| *distance <= SAME_PERSON_MAX_DISTANCE);
    let unnamed = groups.iter().filter_map(|group| {
        let total: f32 = group
            .iter()
            .map(|f| f.descriptor.distance(descriptor))
            .sum();
        let mean = total / group.len().max(1) as f32;
        let first = group.first()?.relative.display().to_string();
        let last = group.last()?.relative.display().to_string();
        let photos = if first == last {
            first
        } else {
            format!("{first}-{last}")
        };
        Some((mean, format!("the person in {photos} (unnamed)")))
    });
    person
        .chain(unnamed.filter(|(distance, _)| *distance <= SAME_PERSON_MAX_DISTANCE))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, who)| who)
}

/// Person numbers again after face names, and the review's unnamed and unphotographed lists.
fn renumber(assignments: &mut [PhotoAssignment], facts: &[PhotoFacts<'_>], review: &mut Review) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for assignment in assignments.iter_mut() {
        if assignment.role != Role::Portrait {
            continue;
        }
        if let Some(person) = &assignment.person {
            let count = counts.entry(person.name.clone()).or_default();
            *count += 1;
            assignment.person_seq = Some(*count);
        }
    }
    let named: Vec<PathBuf> = facts
        .iter()
        .zip(assignments.iter())
        .filter(|(_, assignment)| assignment.person.is_some())
        .map(|(fact, _)| fact.photo.input.relative.clone())
        .collect();
    review
        .unnamed_photos
        .retain(|unnamed| !named.contains(&unnamed.photo));
    review
        .names_without_photos
        .retain(|name| !counts.contains_key(&name.name));
}
