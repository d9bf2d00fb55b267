//! Corrections (`GALLERY/corrections.csv`) over the names of a shoot: each correction is matched
//! to its photo when the run is planned, then laid over whatever sheets, slates and faces said,
//! in the decide pass. Pure: no file is read here.

use std::collections::HashMap;
use std::path::PathBuf;

use super::codes::CodeReplacements;
use super::plan::NamesFrom;
use super::{
    AssignedBy, Found, NameWithoutPhoto, Person, PhotoAssignment, PhotoFinder, PhotoRef, Review,
    Role, Unnamed, UnnamedPhoto,
};
use crate::corrections::{CorrectionAction, Corrections};

/// A correction matched to a photo of the shoot, its name expanded and looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoCorrection {
    pub action: CorrectionAction,
    /// `name` and `slate` with a name: the person (with the sheet's or roster's columns when
    /// the name is in it).
    pub person: Option<Person>,
    /// Its line in `corrections.csv`.
    pub line: u64,
    pub time: String,
    pub by: String,
}

impl PhotoCorrection {
    fn assigned_by(&self) -> AssignedBy {
        AssignedBy::Correction {
            line: self.line,
            time: self.time.clone(),
            by: self.by.clone(),
        }
    }

    /// Whether the photo renders nothing whatever its analysis says (a slate card, a reject);
    /// `false` also for a frame read as a slate that a correction says is a portrait.
    pub fn renders_nothing(&self) -> bool {
        matches!(
            self.action,
            CorrectionAction::Slate | CorrectionAction::Reject
        )
    }
}

/// The corrections of a shoot, one per photo (the latest row wins), and what did not match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShootCorrections {
    /// Same order as the photos.
    pub per_photo: Vec<Option<PhotoCorrection>>,
    /// Rows naming no photo of the shoot, or several; a torn last line.
    pub warnings: Vec<String>,
}

impl ShootCorrections {
    pub fn is_empty(&self) -> bool {
        self.per_photo.iter().all(Option::is_none) && self.warnings.is_empty()
    }
}

/// Matches each source's latest correction to a photo: the manifest's `source` exactly, else a
/// path relative to the shoot (as a sheet's `file` column). Names are code-expanded (an unknown
/// `=code=` is an error naming the line) and looked up in the names for their columns.
pub fn resolve(
    corrections: &Corrections,
    photos: &[PhotoRef<'_>],
    names: Option<&NamesFrom>,
    codes: Option<&CodeReplacements>,
) -> Result<ShootCorrections, String> {
    let file = corrections.path().display();
    let mut resolved = ShootCorrections {
        per_photo: vec![None; photos.len()],
        warnings: corrections.warnings().to_vec(),
    };
    let by_source: HashMap<String, usize> = photos
        .iter()
        .enumerate()
        .map(|(index, photo)| (photo.path.display().to_string(), index))
        .collect();
    let finder = PhotoFinder::new(photos);
    for logged in corrections.latest() {
        let row = &logged.correction;
        let index = match by_source.get(&row.source) {
            Some(&index) => index,
            None => match finder.find(&row.source) {
                Found::One(index) => index,
                Found::Several(found) => {
                    resolved.warnings.push(format!(
                        "{file}:{}: {:?} matches {} photos; write the source as in manifest.json",
                        logged.line,
                        row.source,
                        found.len()
                    ));
                    continue;
                }
                Found::None => {
                    resolved.warnings.push(format!(
                        "{file}:{}: {:?} is not a photo of this shoot",
                        logged.line, row.source
                    ));
                    continue;
                }
            },
        };
        let name = match codes {
            Some(codes) => codes
                .expand(&row.name)
                .map_err(|error| format!("{file}:{}: {error}", logged.line))?
                .into_owned(),
            None => row.name.clone(),
        };
        let person = (!name.trim().is_empty()).then(|| person_named(name.trim(), names));
        let correction = PhotoCorrection {
            action: row.action,
            person: person
                .filter(|_| matches!(row.action, CorrectionAction::Name | CorrectionAction::Slate)),
            line: logged.line,
            time: row.time.clone(),
            by: row.by.clone(),
        };
        // Two spellings of one photo: the later row wins, as within one spelling.
        let slot = &mut resolved.per_photo[index];
        if slot
            .as_ref()
            .is_none_or(|known| known.line < correction.line)
        {
            *slot = Some(correction);
        }
    }
    // A photo whose latest row is `clear` has no correction.
    for slot in &mut resolved.per_photo {
        if slot
            .as_ref()
            .is_some_and(|known| known.action == CorrectionAction::Clear)
        {
            *slot = None;
        }
    }
    Ok(resolved)
}

/// The person of that name (or roster id) in the sheet or roster, with their columns; else
/// a person known only by name.
fn person_named(name: &str, names: Option<&NamesFrom>) -> Person {
    let known = match names {
        Some(NamesFrom::Sheet(sheet)) => sheet
            .entries
            .iter()
            .find(|entry| entry.person.name == name)
            .map(|entry| entry.person.clone()),
        Some(NamesFrom::Slates {
            roster: Some(roster),
        }) => roster
            .by_id(name)
            .or_else(|| roster.by_name(name))
            .map(|entry| entry.person.clone()),
        _ => None,
    };
    known.unwrap_or_else(|| Person::named(name))
}

/// Whether the slate reading of a photo still counts: a correction saying anything else about
/// it (or marking it a slate with a name of its own) takes its place.
pub fn keeps_slate_reading(correction: Option<&PhotoCorrection>) -> bool {
    match correction {
        None => true,
        Some(correction) => {
            correction.action == CorrectionAction::Slate && correction.person.is_none()
        }
    }
}

/// Lays the corrections over `assignments` (same order as `photos`): slates first (a named
/// one names the frames after it on its camera until the next slate), then each photo's own
/// correction. `slates_run`: names come from slates, so a slate without a name ends the
/// previous person. Person numbers and the review's name lists follow.
pub fn apply(
    assignments: &mut [PhotoAssignment],
    photos: &[PhotoRef<'_>],
    corrections: &[Option<&PhotoCorrection>],
    slates_run: bool,
    review: &mut Review,
) {
    apply_slates(assignments, photos, corrections, slates_run);
    for (assignment, correction) in assignments.iter_mut().zip(corrections) {
        let Some(correction) = correction else {
            continue;
        };
        let assigned_by = Some(correction.assigned_by());
        match correction.action {
            CorrectionAction::Name => {
                assignment.role = Role::Portrait;
                assignment.person = correction.person.clone();
                assignment.assigned_by = assigned_by;
                assignment.unnamed = None;
            }
            CorrectionAction::Unname => {
                assignment.role = Role::Portrait;
                assignment.person = None;
                assignment.assigned_by = assigned_by;
                assignment.unnamed = Some(Unnamed::Corrected {
                    line: correction.line,
                });
            }
            CorrectionAction::Reject => {
                assignment.role = Role::Rejected;
                assignment.person = None;
                assignment.assigned_by = assigned_by;
                assignment.unnamed = None;
            }
            // `resolve` leaves no `clear`: the photo has no correction.
            CorrectionAction::Slate | CorrectionAction::Clear => {}
        }
    }
    renumber(assignments, photos, review);
}

/// Frames marked as slates by a correction, and the frames after them.
fn apply_slates(
    assignments: &mut [PhotoAssignment],
    photos: &[PhotoRef<'_>],
    corrections: &[Option<&PhotoCorrection>],
    slates_run: bool,
) {
    // Per camera: the corrected slate now in charge, or `None` once a slate read from the
    // photos (already assigned) takes over.
    let mut current: HashMap<Option<&str>, Option<(Option<Person>, PathBuf)>> = HashMap::new();
    for (index, photo) in photos.iter().enumerate() {
        let assignment = &mut assignments[index];
        let corrected_slate = corrections[index]
            .filter(|c| c.action == CorrectionAction::Slate)
            // A nameless mark on a slate the photo already reads as is that slate.
            .filter(|c| !(keeps_slate_reading(Some(*c)) && assignment.role == Role::Slate));
        if let Some(correction) = corrected_slate {
            assignment.role = Role::Slate;
            assignment.person = correction.person.clone();
            assignment.assigned_by = Some(correction.assigned_by());
            assignment.unnamed = None;
            let slate = photo.relative.to_path_buf();
            current.insert(photo.camera, Some((correction.person.clone(), slate)));
            continue;
        }
        if assignment.role == Role::Slate {
            current.insert(photo.camera, None);
            continue;
        }
        match current.get(&photo.camera) {
            Some(Some((Some(person), slate))) => {
                assignment.person = Some(person.clone());
                assignment.assigned_by = Some(AssignedBy::Slate {
                    slate: slate.clone(),
                });
                assignment.unnamed = None;
            }
            Some(Some((None, slate))) if slates_run => {
                assignment.person = None;
                assignment.assigned_by = None;
                assignment.unnamed = Some(Unnamed::AfterUnnamedSlate {
                    slate: slate.clone(),
                });
            }
            _ => {}
        }
    }
}

/// Person numbers in capture order, and the review's unnamed and unphotographed lists, after
/// corrections moved names around.
fn renumber(assignments: &mut [PhotoAssignment], photos: &[PhotoRef<'_>], review: &mut Review) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut unnamed = Vec::new();
    for (assignment, photo) in assignments.iter_mut().zip(photos) {
        assignment.person_seq = None;
        if assignment.role != Role::Portrait {
            continue;
        }
        match &assignment.person {
            Some(person) => {
                let count = counts.entry(person.name.clone()).or_default();
                *count += 1;
                assignment.person_seq = Some(*count);
            }
            None => unnamed.push(UnnamedPhoto {
                photo: photo.relative.to_path_buf(),
                reason: assignment.unnamed.clone().unwrap_or(Unnamed::NotInSheet),
            }),
        }
    }
    review.unnamed_photos = unnamed;
    review
        .names_without_photos
        .retain(|name: &NameWithoutPhoto| !counts.contains_key(&name.name));
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::corrections::parse_corrections;
    use crate::names::{assign, AssignOptions, NameSource};

    struct Shoot {
        paths: Vec<PathBuf>,
        relatives: Vec<PathBuf>,
    }

    impl Shoot {
        fn new(relatives: &[&str]) -> Self {
            Self {
                paths: relatives
                    .iter()
                    .map(|r| Path::new("shoot").join(r))
                    .collect(),
                relatives: relatives.iter().map(PathBuf::from).collect(),
            }
        }

        fn refs(&self) -> Vec<PhotoRef<'_>> {
            self.paths
                .iter()
                .zip(&self.relatives)
                .map(|(path, relative)| PhotoRef {
                    path,
                    relative,
                    capture_time: None,
                    camera: relative.to_str().and_then(|r| r.split('/').next()),
                    clock_offset: crate::names::ClockOffset::ZERO,
                    clock_slate: false,
                })
                .collect()
        }
    }

    fn corrections(shoot: &Shoot, rows: &str) -> ShootCorrections {
        let text = format!("source,name,action\n{rows}");
        let read = parse_corrections(Path::new("out/corrections.csv"), text.as_bytes()).unwrap();
        resolve(&read, &shoot.refs(), None, None).unwrap()
    }

    fn names(assignments: &[PhotoAssignment]) -> Vec<(Role, Option<&str>)> {
        assignments
            .iter()
            .map(|a| (a.role, a.person.as_ref().map(|p| p.name.as_str())))
            .collect()
    }

    #[test]
    fn sources_match_the_manifest_path_or_the_shoot_relative_path() {
        let shoot = Shoot::new(&["A/1.jpg", "A/2.jpg", "B/1.jpg"]);
        let resolved = corrections(
            &shoot,
            "shoot/A/1.jpg,Ann,name\nA/2.jpg,,reject\n1.jpg,Bob,name\nA/9.jpg,Cy,name\n\
             shoot/A/1.jpg,Ann Lee,name\n",
        );
        let found: Vec<Option<(CorrectionAction, Option<&str>)>> = resolved
            .per_photo
            .iter()
            .map(|c| {
                c.as_ref()
                    .map(|c| (c.action, c.person.as_ref().map(|p| p.name.as_str())))
            })
            .collect();
        assert_eq!(
            found,
            [
                Some((CorrectionAction::Name, Some("Ann Lee"))),
                Some((CorrectionAction::Reject, None)),
                None
            ]
        );
        assert_eq!(resolved.warnings.len(), 2, "{:?}", resolved.warnings);
        assert!(resolved.warnings[0].starts_with("out/corrections.csv:4:"));
        assert!(resolved.warnings[1].contains("A/9.jpg"));
    }

    #[test]
    fn a_clear_row_undoes_every_earlier_correction_of_its_photo() {
        let shoot = Shoot::new(&["A/1.jpg", "A/2.jpg"]);
        let resolved = corrections(
            &shoot,
            "A/1.jpg,Ann,name\nA/2.jpg,,unname\nA/1.jpg,,clear\nA/2.jpg,,clear\nA/2.jpg,,reject\n",
        );
        let actions: Vec<Option<CorrectionAction>> = resolved
            .per_photo
            .iter()
            .map(|c| c.as_ref().map(|c| c.action))
            .collect();
        assert_eq!(actions, [None, Some(CorrectionAction::Reject)]);
    }

    #[test]
    fn codes_expand_in_corrections_and_unknown_codes_name_the_line() {
        let shoot = Shoot::new(&["A/1.jpg"]);
        let codes = CodeReplacements::parse(Path::new("codes.txt"), "j23\tJane Doe\n").unwrap();
        let text = "source,name,action\nA/1.jpg,=j23=,name\n";
        let read = parse_corrections(Path::new("c.csv"), text.as_bytes()).unwrap();
        let resolved = resolve(&read, &shoot.refs(), None, Some(&codes)).unwrap();
        let person = resolved.per_photo[0].as_ref().unwrap().person.as_ref();
        assert_eq!(person.unwrap().name, "Jane Doe");
        let text = "source,name,action\nA/1.jpg,Ann,name\nA/1.jpg,=x=,name\n";
        let read = parse_corrections(Path::new("c.csv"), text.as_bytes()).unwrap();
        let error = resolve(&read, &shoot.refs(), None, Some(&codes)).unwrap_err();
        assert_eq!(error, "c.csv:3: unknown code =x= (not in codes.txt)");
    }

    #[test]
    fn corrections_override_slates_and_a_corrected_slate_names_the_frames_after_it() {
        let shoot = Shoot::new(&[
            "A/slate.jpg",
            "A/1.jpg",
            "B/1.jpg",
            "A/2.jpg",
            "A/3.jpg",
            "A/4.jpg",
            "B/2.jpg",
        ]);
        let refs = shoot.refs();
        let mut payloads = vec![None; refs.len()];
        payloads[0] = Some("Ann".to_string());
        let source = NameSource::Slates {
            payloads: &payloads,
            roster: None,
        };
        let base = assign(&source, &refs, &AssignOptions::default()).unwrap();
        let resolved = corrections(
            &shoot,
            "A/1.jpg,,unname\nA/2.jpg,Bob,slate\nA/4.jpg,Cy,name\nB/2.jpg,,reject\n",
        );
        let per_photo: Vec<Option<&PhotoCorrection>> =
            resolved.per_photo.iter().map(Option::as_ref).collect();
        let (mut photos, mut review) = (base.photos, base.review);
        apply(&mut photos, &refs, &per_photo, true, &mut review);
        assert_eq!(
            names(&photos),
            [
                (Role::Slate, Some("Ann")),
                (Role::Portrait, None),
                (Role::Portrait, None),
                (Role::Slate, Some("Bob")),
                (Role::Portrait, Some("Bob")),
                (Role::Portrait, Some("Cy")),
                (Role::Rejected, None),
            ]
        );
        assert_eq!(
            photos[4].assigned_by,
            Some(AssignedBy::Slate {
                slate: PathBuf::from("A/2.jpg")
            })
        );
        assert!(matches!(
            photos[5].assigned_by,
            Some(AssignedBy::Correction { line: 4, .. })
        ));
        assert_eq!(photos[4].person_seq, Some(1));
        let unnamed: Vec<&Path> = review
            .unnamed_photos
            .iter()
            .map(|u| u.photo.as_path())
            .collect();
        assert_eq!(unnamed, [Path::new("A/1.jpg"), Path::new("B/1.jpg")]);
        assert_eq!(photos[1].unnamed, Some(Unnamed::Corrected { line: 2 }));
    }

    #[test]
    fn a_name_over_a_slate_reading_makes_the_frame_a_portrait() {
        let shoot = Shoot::new(&["A/slate.jpg", "A/1.jpg"]);
        let resolved = corrections(&shoot, "A/slate.jpg,Dee,name\n");
        assert!(!keeps_slate_reading(resolved.per_photo[0].as_ref()));
        assert!(!resolved.per_photo[0].as_ref().unwrap().renders_nothing());
        let nameless = corrections(&shoot, "A/slate.jpg,,slate\n");
        assert!(keeps_slate_reading(nameless.per_photo[0].as_ref()));
        assert!(nameless.per_photo[0].as_ref().unwrap().renders_nothing());
    }
}
