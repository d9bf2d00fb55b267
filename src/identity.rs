//! Face identity in the decide pass: every person's frames must show one face, and the face of
//! their reference photo (the roster's `photo` column) when there is one. Frames that do not are
//! flagged (and say whom they look like); unnamed frames whose face clearly matches one person
//! (their frames or their reference photo) take the name; the rest are grouped by face so a
//! volunteer names a group once.
//!
//! Works only on the descriptors in the analyses; they never leave the analysis cache (no
//! descriptor goes into a plan, the manifest or a page: only distances do, for `inspect`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use crate::analyse::ReferenceFace;
use crate::decide::PhotoFacts;
use crate::faces::cluster::cluster;
use crate::faces::descriptor::{FaceDescriptor, SAME_PERSON_MAX_DISTANCE};
use crate::names::{AssignedBy, FaceMismatch, Person, PhotoAssignment, Review, Role};

/// An unnamed frame takes a name only when the best person is this much nearer than the
/// second best: a wrong name is worse than none.
const PROPAGATION_MARGIN: f32 = 0.1;
/// A frame further than this from its person's reference photo does not show them.
const REFERENCE_MISMATCH_DISTANCE: f32 = SAME_PERSON_MAX_DISTANCE;
/// How many of a person's frames `inspect` lists, nearest first.
const NEAREST_FRAMES: usize = 3;

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

/// A reference photo that shows one face.
#[derive(Clone, Copy)]
struct Reference<'a> {
    descriptor: &'a FaceDescriptor,
    /// As written in the roster.
    photo: &'a Path,
}

/// A person's face: the frames named for them that agree with each other (and with their
/// reference photo), and that reference. A person known only from a reference has no members.
struct Identity<'a> {
    name: String,
    /// The person as the sheet or roster gives them (extra columns too).
    person: Person,
    members: Vec<Described<'a>>,
    reference: Option<Reference<'a>>,
}

impl Identity<'_> {
    /// How well a face matches this person: the nearer of the mean distance to their frames and
    /// the distance to their reference photo, with the photo it is most like (the nearest frame,
    /// or the reference). `None` when there is nothing to compare with.
    fn distance(&self, descriptor: &FaceDescriptor) -> Option<(f32, &Path)> {
        let frames = self.frames_distance(descriptor);
        let reference = self
            .reference
            .map(|reference| (reference.descriptor.distance(descriptor), reference.photo));
        match (frames, reference) {
            (Some(frames), Some(reference)) if reference.0 < frames.0 => Some(reference),
            (frames, reference) => frames.or(reference),
        }
    }

    /// Mean distance to the members, and the nearest member.
    fn frames_distance(&self, descriptor: &FaceDescriptor) -> Option<(f32, &Path)> {
        let mut total = 0.0;
        let mut nearest: Option<(f32, &Path)> = None;
        for member in &self.members {
            let distance = member.descriptor.distance(descriptor);
            total += distance;
            if nearest.is_none_or(|(best, _)| distance < best) {
                nearest = Some((distance, member.relative));
            }
        }
        let (_, like) = nearest?;
        Some((total / self.members.len() as f32, like))
    }
}

/// A named frame whose face is not its person's.
struct Stray<'a> {
    person: String,
    frame: Described<'a>,
    /// Frames in the person's main group, when this frame is not one of them (0: it is).
    off_frames: usize,
    /// The person's reference photo, when this face is clearly not the one in it.
    off_reference: Option<&'a Path>,
}

impl Stray<'_> {
    /// `face does not match the other 3 photos of Ben or the reference photo (ben.jpg)`.
    fn reason(&self) -> String {
        let person = &self.person;
        let others = self.off_frames;
        let photos = format!(
            "the other {others} photo{} of {person}",
            if others == 1 { "" } else { "s" }
        );
        match self.off_reference {
            Some(photo) if others > 0 => format!(
                "face does not match {photos} or the reference photo ({})",
                photo.display()
            ),
            Some(photo) => format!(
                "face does not match the reference photo of {person} ({})",
                photo.display()
            ),
            None => format!("face does not match {photos}"),
        }
    }
}

/// Checks every name against the faces (the person's other frames and reference photo), names
/// clear matches, groups the rest. `assignments` and `review` are updated in place (face names,
/// person numbers, the review lists, a warning per unusable reference photo).
pub fn check_identities(
    facts: &[PhotoFacts<'_>],
    references: &[ReferenceFace],
    assignments: &mut [PhotoAssignment],
    review: &mut Review,
) -> IdentityOutcome {
    let mut outcome = IdentityOutcome {
        review: vec![None; facts.len()],
        face_groups: vec![None; facts.len()],
    };
    let (by_person, unnamed) = described_frames(facts, assignments);
    let mut usable = BTreeMap::new();
    for reference in references {
        match &reference.descriptor {
            Ok(descriptor) => {
                let face = Reference {
                    descriptor,
                    photo: &reference.photo,
                };
                // The first of two attendees with one name is the one slates find too.
                usable
                    .entry(reference.person.name.clone())
                    .or_insert((reference.person.clone(), face));
            }
            Err(warning) => review.warnings.push(warning.clone()),
        }
    }
    let (identities, strays) = person_identities(by_person, usable);
    let still_unnamed = name_by_face(&identities, unnamed, assignments);
    let groups = group_unnamed(&still_unnamed, &mut outcome);
    for (position, stray) in strays.iter().enumerate() {
        let looks_like = looks_like(stray, &identities, &groups, &strays, position);
        let mut reason = stray.reason();
        if let Some(who) = &looks_like {
            reason.push_str(&format!("; looks like {who}"));
        }
        outcome.review[stray.frame.index] = Some(reason);
        review.face_mismatches.push(FaceMismatch {
            photo: stray.frame.relative.to_path_buf(),
            person: stray.person.clone(),
            looks_like,
        });
    }
    renumber(assignments, facts, review);
    outcome
}

/// Frames with a described main face by person name, and the unnamed ones (portraits only).
type FramesByPerson<'a> = BTreeMap<String, (Person, Vec<Described<'a>>)>;

fn described_frames<'a>(
    facts: &[PhotoFacts<'a>],
    assignments: &[PhotoAssignment],
) -> (FramesByPerson<'a>, Vec<Described<'a>>) {
    let mut by_person: FramesByPerson<'a> = BTreeMap::new();
    let mut unnamed = Vec::new();
    for (index, (fact, assignment)) in facts.iter().zip(assignments).enumerate() {
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
    (by_person, unnamed)
}

/// Every person's identity (those with frames, then those known only from a reference photo)
/// and the frames that do not show them.
fn person_identities<'a>(
    by_person: FramesByPerson<'a>,
    mut references: BTreeMap<String, (Person, Reference<'a>)>,
) -> (Vec<Identity<'a>>, Vec<Stray<'a>>) {
    let mut identities = Vec::new();
    let mut strays = Vec::new();
    for (name, (person, frames)) in by_person {
        let reference = references.remove(&name).map(|(_, reference)| reference);
        let (identity, person_strays) = split_person(name, person, frames, reference);
        identities.push(identity);
        strays.extend(person_strays);
    }
    for (name, (person, reference)) in references {
        identities.push(Identity {
            name,
            person,
            members: Vec::new(),
            reference: Some(reference),
        });
    }
    (identities, strays)
}

/// A person's frames split into the face most of them show (or, with a reference photo, the
/// group that matches it; ties: the earliest frame's, the one right after the slate or sheet
/// row) and the frames that show another face or clearly not the reference's.
fn split_person<'a>(
    name: String,
    person: Person,
    frames: Vec<Described<'a>>,
    reference: Option<Reference<'a>>,
) -> (Identity<'a>, Vec<Stray<'a>>) {
    let descriptors: Vec<FaceDescriptor> = frames.iter().map(|f| f.descriptor.clone()).collect();
    let groups = cluster(&descriptors, SAME_PERSON_MAX_DISTANCE);
    let main = main_group(&descriptors, &groups, reference);
    let main_size = groups.iter().filter(|group| **group == main).count();
    let mut members = Vec::new();
    let mut strays = Vec::new();
    for (frame, group) in frames.into_iter().zip(groups) {
        let off_reference = reference
            .filter(|r| r.descriptor.distance(frame.descriptor) > REFERENCE_MISMATCH_DISTANCE)
            .map(|r| r.photo);
        let off_frames = if group == main { 0 } else { main_size };
        if off_frames == 0 && off_reference.is_none() {
            members.push(frame);
            continue;
        }
        strays.push(Stray {
            person: name.clone(),
            frame,
            off_frames,
            off_reference,
        });
    }
    let identity = Identity {
        name,
        person,
        members,
        reference,
    };
    (identity, strays)
}

/// The group that is the person: the one nearest their reference photo when one is within
/// the same-person distance of it, else the largest (lowest id on a tie).
fn main_group(
    descriptors: &[FaceDescriptor],
    groups: &[usize],
    reference: Option<Reference<'_>>,
) -> usize {
    let mut sizes: BTreeMap<usize, (usize, f32)> = BTreeMap::new();
    for (descriptor, group) in descriptors.iter().zip(groups) {
        let entry = sizes.entry(*group).or_default();
        entry.0 += 1;
        entry.1 += reference.map_or(0.0, |r| r.descriptor.distance(descriptor));
    }
    let by_reference = reference.and_then(|_| {
        sizes
            .iter()
            .map(|(id, (size, total))| (*id, total / *size as f32))
            .filter(|(_, mean)| *mean <= SAME_PERSON_MAX_DISTANCE)
            .min_by(|a, b| a.1.total_cmp(&b.1))
    });
    // Groups are numbered by first member, so the lowest id wins a tie.
    let largest = sizes
        .iter()
        .max_by(|(a_id, a), (b_id, b)| a.0.cmp(&b.0).then(b_id.cmp(a_id)))
        .map_or(0, |(id, _)| *id);
    by_reference.map_or(largest, |(id, _)| id)
}

/// Names the unnamed frames whose face clearly matches one person (their frames or reference
/// photo); returns the others.
fn name_by_face<'a>(
    identities: &[Identity<'_>],
    unnamed: Vec<Described<'a>>,
    assignments: &mut [PhotoAssignment],
) -> Vec<Described<'a>> {
    let mut remaining = Vec::new();
    for frame in unnamed {
        let mut ranked: Vec<(f32, &Path, &Identity<'_>)> = identities
            .iter()
            .filter_map(|identity| {
                let (distance, like) = identity.distance(frame.descriptor)?;
                Some((distance, like, identity))
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

/// Whom a stray face looks like: another person (by frames or reference photo); else a group
/// of unnamed photos, or other flagged frames with this face (a forgotten slate's frames).
fn looks_like(
    stray: &Stray<'_>,
    identities: &[Identity<'_>],
    groups: &[Vec<&Described<'_>>],
    strays: &[Stray<'_>],
    position: usize,
) -> Option<String> {
    let descriptor = stray.frame.descriptor;
    let person = identities
        .iter()
        .filter(|identity| identity.name != stray.person)
        .filter_map(|identity| Some((identity.distance(descriptor)?.0, identity.name.clone())))
        .filter(|(distance, _)| *distance <= SAME_PERSON_MAX_DISTANCE)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, name)) = person {
        return Some(name);
    }
    let unnamed = groups.iter().filter_map(|group| {
        let mean = mean_distance(descriptor, group)?;
        Some((mean, format!("the person in {} (unnamed)", span(group))))
    });
    // Frames flagged because their face is not the rest's (not only not the reference's).
    let flagged: Vec<&Described<'_>> = strays
        .iter()
        .enumerate()
        .filter(|(other, flagged)| *other != position && flagged.off_frames > 0)
        .filter(|_| stray.off_frames > 0)
        .map(|(_, other)| &other.frame)
        .filter(|frame| frame.descriptor.distance(descriptor) <= SAME_PERSON_MAX_DISTANCE)
        .collect();
    let flagged = mean_distance(descriptor, &flagged)
        .map(|mean| (mean, format!("the person in {}", span(&flagged))));
    unnamed
        .chain(flagged)
        .filter(|(distance, _)| *distance <= SAME_PERSON_MAX_DISTANCE)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, who)| who)
}

/// Mean distance from `descriptor` to `frames`; `None` for no frames.
fn mean_distance(descriptor: &FaceDescriptor, frames: &[&Described<'_>]) -> Option<f32> {
    let total: f32 = frames
        .iter()
        .map(|f| f.descriptor.distance(descriptor))
        .sum();
    match frames.len() {
        0 => None,
        count => Some(total / count as f32),
    }
}

/// `IMG_1.jpg` or `IMG_1.jpg-IMG_4.jpg`: the first and last of some frames, in capture order.
fn span(frames: &[&Described<'_>]) -> String {
    let first = frames.first().map(|f| f.relative.display().to_string());
    let last = frames.last().map(|f| f.relative.display().to_string());
    match (first, last) {
        (Some(first), Some(last)) if first != last => format!("{first}-{last}"),
        (first, _) => first.unwrap_or_default(),
    }
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

/// How far one photo's face is from the people of the shoot, for `headshot inspect --names`:
/// distances only, never a descriptor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FaceDistances {
    /// Whether the photo's main face has a descriptor (found, and large enough).
    pub described: bool,
    /// Each person, nearest first.
    pub people: Vec<PersonDistances>,
    /// Reference photos that could not be used, and why (naming the roster line).
    pub unusable_references: Vec<String>,
}

/// One person's distances from a face: their reference photo, their nearest frames.
#[derive(Debug, Clone, Serialize)]
pub struct PersonDistances {
    pub person: String,
    pub reference: Option<PhotoDistance>,
    /// The person's frames (as decided, the photo itself left out), nearest first, at most
    /// [`NEAREST_FRAMES`].
    pub frames: Vec<PhotoDistance>,
}

/// A descriptor distance to one photo (0: the same face; at most 0.55: the same person).
#[derive(Debug, Clone, Serialize)]
pub struct PhotoDistance {
    pub photo: PathBuf,
    #[serde(serialize_with = "two_decimals")]
    pub distance: f32,
}

fn two_decimals<S: Serializer>(distance: &f32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((f64::from(*distance) * 100.0).round() / 100.0)
}

impl PersonDistances {
    fn nearest(&self) -> f32 {
        let reference = self.reference.as_ref().map(|r| r.distance);
        let frame = self.frames.first().map(|f| f.distance);
        reference.into_iter().chain(frame).fold(f32::MAX, f32::min)
    }
}

/// The distances of photo `index`'s main face to every person's reference photo and frames,
/// after the decide pass (`assignments` as decided, face names included).
pub fn face_distances(
    facts: &[PhotoFacts<'_>],
    assignments: &[PhotoAssignment],
    references: &[ReferenceFace],
    index: usize,
) -> FaceDistances {
    let unusable_references = references
        .iter()
        .filter_map(|reference| reference.descriptor.as_ref().err().cloned())
        .collect();
    let Some(face) = facts
        .get(index)
        .and_then(|fact| fact.analysis)
        .and_then(|analysis| analysis.main_descriptor())
    else {
        return FaceDistances {
            unusable_references,
            ..FaceDistances::default()
        };
    };
    let mut people: BTreeMap<String, PersonDistances> = BTreeMap::new();
    fn person<'p>(
        people: &'p mut BTreeMap<String, PersonDistances>,
        name: &str,
    ) -> &'p mut PersonDistances {
        people
            .entry(name.to_string())
            .or_insert_with(|| PersonDistances {
                person: name.to_string(),
                reference: None,
                frames: Vec::new(),
            })
    }
    for reference in references {
        if let Ok(descriptor) = &reference.descriptor {
            let entry = person(&mut people, &reference.person.name);
            entry.reference.get_or_insert(PhotoDistance {
                photo: reference.photo.clone(),
                distance: descriptor.distance(face),
            });
        }
    }
    for (other, (fact, assignment)) in facts.iter().zip(assignments).enumerate() {
        let descriptor = fact
            .analysis
            .and_then(|analysis| analysis.main_descriptor());
        let (Some(descriptor), Some(named)) = (descriptor, &assignment.person) else {
            continue;
        };
        if other != index && assignment.role == Role::Portrait {
            person(&mut people, &named.name).frames.push(PhotoDistance {
                photo: fact.photo.input.relative.clone(),
                distance: descriptor.distance(face),
            });
        }
    }
    let mut people: Vec<PersonDistances> = people.into_values().collect();
    for entry in &mut people {
        entry
            .frames
            .sort_by(|a, b| a.distance.total_cmp(&b.distance));
        entry.frames.truncate(NEAREST_FRAMES);
    }
    people.sort_by(|a, b| a.nearest().total_cmp(&b.nearest()));
    FaceDistances {
        described: true,
        people,
        unusable_references,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::PhotoAnalysis;
    use crate::discover::InputFile;
    use crate::exif_info::ExifInfo;
    use crate::faces::descriptor::DESCRIPTOR_LEN;
    use crate::faces::Face;
    use crate::plan::PlannedPhoto;

    /// A descriptor at `x` on the first axis (distance = difference of positions).
    fn at(x: f32) -> FaceDescriptor {
        let mut values = [0.0; DESCRIPTOR_LEN];
        values[0] = x;
        FaceDescriptor(values)
    }

    /// Frames `F0.jpg`, `F1.jpg`... each showing one face at the given position.
    struct Shoot {
        photos: Vec<PlannedPhoto>,
        analyses: Vec<PhotoAnalysis>,
    }

    impl Shoot {
        fn new(faces: &[f32]) -> Self {
            let photos = (0..faces.len())
                .map(|i| PlannedPhoto {
                    input: InputFile {
                        path: PathBuf::from(format!("/shoot/F{i}.jpg")),
                        relative: PathBuf::from(format!("F{i}.jpg")),
                        format: None,
                    },
                    exif: ExifInfo::default(),
                    exif_warnings: Vec::new(),
                })
                .collect();
            let face = Face {
                bbox: [10.0, 10.0, 100.0, 100.0],
                score: 0.9,
                eyes: [[40.0, 50.0], [80.0, 50.0]],
            };
            let analyses = faces
                .iter()
                .map(|&x| PhotoAnalysis {
                    upright_size: (200, 200),
                    faces: Some(vec![face.clone()]),
                    descriptors: Some(vec![Some(at(x))]),
                    ..PhotoAnalysis::default()
                })
                .collect();
            Self { photos, analyses }
        }

        fn facts(&self) -> Vec<PhotoFacts<'_>> {
            self.photos
                .iter()
                .zip(&self.analyses)
                .map(|(photo, analysis)| PhotoFacts {
                    photo,
                    analysis: Some(analysis),
                    rendered: None,
                    correction: None,
                    clock_offset: crate::names::ClockOffset::ZERO,
                })
                .collect()
        }
    }

    /// Assignments as a slate would make them (`None`: unnamed).
    fn named(names: &[Option<&str>]) -> Vec<PhotoAssignment> {
        names
            .iter()
            .map(|name| PhotoAssignment {
                person: name.map(Person::named),
                assigned_by: name.map(|_| AssignedBy::Slate {
                    slate: PathBuf::from("S.jpg"),
                }),
                ..PhotoAssignment::default()
            })
            .collect()
    }

    fn reference(name: &str, x: f32) -> ReferenceFace {
        ReferenceFace {
            person: Person::named(name),
            photo: PathBuf::from(format!("refs/{}.jpg", name.to_lowercase())),
            xxh3: Some(1),
            descriptor: Ok(at(x)),
        }
    }

    fn names(assignments: &[PhotoAssignment]) -> Vec<Option<&str>> {
        assignments
            .iter()
            .map(|a| a.person.as_ref().map(|p| p.name.as_str()))
            .collect()
    }

    #[test]
    fn reference_photos_name_unnamed_frames_only_when_clear() {
        // Ann near 0, Ben near 5; a stranger at 9; a face halfway between Ann and Ben.
        let shoot = Shoot::new(&[0.1, 5.05, 0.0, 9.0, 2.6]);
        let mut assignments = named(&[None; 5]);
        let mut review = Review::default();
        let references = [reference("Ann", 0.2), reference("Ben", 5.2)];
        let outcome = check_identities(&shoot.facts(), &references, &mut assignments, &mut review);
        assert_eq!(
            names(&assignments),
            [Some("Ann"), Some("Ben"), Some("Ann"), None, None]
        );
        let json = serde_json::to_value(assignments[1].assigned_by.as_ref().unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"layout": "face", "like": "refs/ben.jpg", "distance": 0.15})
        );
        assert_eq!(outcome.face_groups[3].as_deref(), Some("face-1"));
        assert!(outcome.review.iter().all(Option::is_none));
        assert_eq!(assignments[2].person_seq, Some(2));
    }

    #[test]
    fn a_reference_decides_whose_frames_are_strays() {
        // A forgotten slate: three frames of Cat follow Ben's two, all named Ben.
        let shoot = Shoot::new(&[5.0, 5.1, 0.0, 0.1, 0.05]);
        let ben = Some("Ben");
        let facts = shoot.facts();
        let flagged = |references: &[ReferenceFace]| {
            let mut assignments = named(&[ben; 5]);
            let mut review = Review::default();
            let outcome = check_identities(&facts, references, &mut assignments, &mut review);
            assert_eq!(names(&assignments), [ben; 5], "names are kept");
            (outcome.review, review)
        };
        // Without references the larger group wins: Ben's own frames are the odd ones out.
        let (reasons, _) = flagged(&[]);
        assert!(reasons[0].is_some() && reasons[2].is_none(), "{reasons:?}");
        assert_eq!(
            reasons[0].as_deref(),
            Some("face does not match the other 3 photos of Ben; looks like the person in F1.jpg")
        );
        // Ben's reference picks his frames; Cat's says whom the others look like.
        let (reasons, review) = flagged(&[reference("Ben", 5.05), reference("Cat", 0.0)]);
        let flagged_frames: Vec<bool> = reasons.iter().map(Option::is_some).collect();
        assert_eq!(flagged_frames, [false, false, true, true, true]);
        assert_eq!(
            reasons[2].as_deref(),
            Some(
                "face does not match the other 2 photos of Ben or the reference photo \
                 (refs/ben.jpg); looks like Cat"
            )
        );
        assert_eq!(review.face_mismatches.len(), 3);
        assert_eq!(review.face_mismatches[0].looks_like.as_deref(), Some("Cat"));
        // Cat got photos after all (under Ben's name): she is still missing as a name.
        assert!(review.warnings.is_empty());
    }

    #[test]
    fn frames_that_clearly_do_not_match_their_reference_are_flagged() {
        let shoot = Shoot::new(&[7.0, 7.05, 3.0]);
        let mut assignments = named(&[Some("Dan"), Some("Dan"), Some("Eve")]);
        let mut review = Review::default();
        let mut unusable = reference("Eve", 0.0);
        unusable.descriptor = Err("roster.csv:3: reference photo eve.jpg: no face found".into());
        let references = [reference("Dan", 3.0), unusable];
        let outcome = check_identities(&shoot.facts(), &references, &mut assignments, &mut review);
        assert_eq!(
            outcome.review[0].as_deref(),
            Some("face does not match the reference photo of Dan (refs/dan.jpg)")
        );
        assert!(outcome.review[1].is_some());
        // Eve's reference is unusable: a warning, and her frame is not judged by it.
        assert!(outcome.review[2].is_none());
        assert_eq!(
            review.warnings,
            ["roster.csv:3: reference photo eve.jpg: no face found"]
        );
    }

    #[test]
    fn distances_to_references_and_frames_nearest_first() {
        let shoot = Shoot::new(&[0.0, 0.3, 0.2, 4.0, 0.9, 1.0]);
        let assignments = named(&[
            Some("Ann"),
            Some("Ann"),
            Some("Ann"),
            Some("Ben"),
            Some("Ann"),
            Some("Ann"),
        ]);
        let references = [reference("Ben", 4.5), reference("Cy", 2.0)];
        let distances = face_distances(&shoot.facts(), &assignments, &references, 0);
        assert!(distances.described);
        let people: Vec<&str> = distances.people.iter().map(|p| p.person.as_str()).collect();
        assert_eq!(people, ["Ann", "Cy", "Ben"]);
        let hundredths = |distance: f32| (distance * 100.0).round() as u32;
        let ann: Vec<(String, u32)> = distances.people[0]
            .frames
            .iter()
            .map(|f| (f.photo.display().to_string(), hundredths(f.distance)))
            .collect();
        // The photo itself is left out; three nearest frames.
        assert_eq!(
            ann,
            [
                ("F2.jpg".to_string(), 20),
                ("F1.jpg".to_string(), 30),
                ("F4.jpg".to_string(), 90)
            ]
        );
        let ben = &distances.people[2];
        assert_eq!(ben.reference.as_ref().unwrap().distance, 4.5);
        assert_eq!(ben.frames[0].distance, 4.0);
        let json = serde_json::to_string(&distances).unwrap();
        assert!(json.contains(r#""distance":0.2"#), "{json}");
    }
}
