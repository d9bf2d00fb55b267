//! The decide pass: one single-threaded pass of pure functions over the whole shoot, in capture
//! order, after every photo is analysed and rendered: who is in each photo (sheets, or the
//! slates the analyses read), every output's final name, its metadata, and what needs review.
//! It reads no file and decodes nothing, so a names change costs only this and the finish pass.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::analyse::{PhotoAnalysis, ReferenceFace};
use crate::error::ConfigError;
use crate::exif_info::CaptureTime as ExifCaptureTime;
use crate::manifest::FaceRecord;
use crate::metadata::{CropWindow, FaceRegion, OutputMetadata, PixelSize};
use crate::names::overrides::{self, PhotoCorrection};
use crate::names::{self, ClockOffset, NameSource, PhotoAssignment, PhotoRef, Review, Role};
use crate::naming::{NameAllocator, NameTemplate, NameValues};
use crate::plan::{PlannedPhoto, RunOptions};
use crate::render::{Rendered, StagedOutput};

/// The folder `--sidecars` mirrors the shoot in, inside the output folder.
pub const SIDECAR_FOLDER: &str = "sidecars";
/// Files of the run itself, which no output may be named.
const RESERVED_NAMES: [&str; 3] = ["manifest.json", "manifest.csv", "index.html"];

/// What the decide pass knows of one photo: its discovery facts and what the first pass found.
#[derive(Debug, Clone, Copy)]
pub struct PhotoFacts<'a> {
    pub photo: &'a PlannedPhoto,
    /// `None` when the photo failed before it was analysed.
    pub analysis: Option<&'a PhotoAnalysis>,
    /// `None` for a slate, or a photo that failed.
    pub rendered: Option<&'a Rendered>,
    /// What `corrections.csv` says about it, over sheets, slates and faces.
    pub correction: Option<&'a PhotoCorrection>,
    /// Its camera's clock offset (`clocks::ShootClocks`), for the `time` layout.
    pub clock_offset: ClockOffset,
}

/// One output under its final name. Its metadata is not kept here: the finish pass builds it
/// ([`output_metadata`]) one photo at a time, so the whole shoot's plans do not hold a copy per
/// derivative (about 2 KB a photo).
#[derive(Debug, Clone)]
pub struct FinalOutput {
    pub staged: StagedOutput,
    /// Relative to the output folder.
    pub path: PathBuf,
}

/// Everything decided for one photo.
#[derive(Debug, Clone)]
pub struct PhotoPlan {
    pub assignment: PhotoAssignment,
    /// Why the photo's name needs a look (its face is not the person's), from identity.
    pub identity_review: Option<String>,
    /// Unnamed photos with the same face share a group (`face-1`...).
    pub face_group: Option<String>,
    pub caption: Option<String>,
    pub keywords: Vec<String>,
    pub outputs: Vec<FinalOutput>,
    /// `--sidecars`: where the original's `.xmp` goes and what it says.
    pub sidecar: Option<(PathBuf, OutputMetadata)>,
}

/// The decisions for the whole shoot, photo for photo in capture order.
#[derive(Debug, Clone)]
pub struct Decision {
    pub plans: Vec<PhotoPlan>,
    /// Naming problems to look at; `None` when the run has no names.
    pub review: Option<Review>,
}

/// Decides names, output paths and metadata for every photo.
pub fn decide(facts: &[PhotoFacts<'_>], options: &RunOptions) -> Result<Decision, ConfigError> {
    decide_with_references(facts, &[], options)
}

/// [`decide`], with faces also checked against the roster's reference photos.
pub fn decide_with_references(
    facts: &[PhotoFacts<'_>],
    references: &[ReferenceFace],
    options: &RunOptions,
) -> Result<Decision, ConfigError> {
    let (mut assignments, mut review) = assign_names(facts, options)?;
    let identity = match &mut review {
        Some(review) if options.needs_identity() => {
            crate::identity::check_identities(facts, references, &mut assignments, review)
        }
        _ => crate::identity::IdentityOutcome::default(),
    };
    let mut names = NameAllocator::default();
    for reserved in RESERVED_NAMES {
        names.reserve(reserved);
    }
    let mut sidecar_names = NameAllocator::default();
    let seq_width = facts.len().to_string().len().max(3);
    let plans = facts
        .iter()
        .zip(assignments)
        .enumerate()
        .map(|(position, (fact, assignment))| {
            let identity_review = identity.review.get(position).cloned().flatten();
            let face_group = identity.face_groups.get(position).cloned().flatten();
            let person = assignment.person.as_ref();
            let shoot = options.shoot_for(fact.photo);
            let event = shoot.event.as_deref();
            let mut plan = PhotoPlan {
                caption: options
                    .naming
                    .caption
                    .as_ref()
                    .and_then(|caption| caption.render(person, event)),
                keywords: names::keywords(person, event),
                outputs: Vec::new(),
                sidecar: None,
                assignment,
                identity_review,
                face_group,
            };
            if plan.assignment.role != Role::Portrait {
                return plan;
            }
            let paths = output_paths(fact, &plan.assignment, position, seq_width, options);
            if let Some(rendered) = fact.rendered {
                plan.outputs = rendered
                    .outputs
                    .iter()
                    .zip(paths)
                    .map(|(staged, wanted)| FinalOutput {
                        path: names.allocate(wanted),
                        staged: staged.clone(),
                    })
                    .collect();
            }
            if options.naming.sidecars {
                let wanted = Path::new(SIDECAR_FOLDER)
                    .join(&fact.photo.input.relative)
                    .with_extension("xmp");
                let upright = fact.analysis.map(|analysis| analysis.upright_size);
                if let Some(upright) = upright {
                    let window = CropWindow::whole(upright);
                    let size = PixelSize {
                        width: upright.0,
                        height: upright.1,
                    };
                    let metadata =
                        photo_metadata((fact.photo, fact.analysis), &plan, options, &window, size);
                    plan.sidecar = Some((sidecar_names.allocate(wanted), metadata));
                }
            }
            plan
        })
        .collect();
    Ok(Decision { plans, review })
}

/// A names sheet checked against the shoot before any photo is decoded: a row that names no
/// photo or several stops the run with its line (slates can only be read after decoding).
pub fn check_sheet(photos: &[PlannedPhoto], options: &RunOptions) -> Result<(), ConfigError> {
    let Some(names::NamesFrom::Sheet(sheet)) = &options.naming.source else {
        return Ok(());
    };
    let cameras: Vec<String> = photos.iter().map(PlannedPhoto::camera_id).collect();
    let refs: Vec<PhotoRef<'_>> = photos
        .iter()
        .zip(&cameras)
        .map(|(photo, camera)| PhotoRef {
            path: &photo.input.path,
            relative: &photo.input.relative,
            capture_time: photo.exif.capture_time.as_ref(),
            camera: Some(camera),
            // Offsets and clock slates are known after analysis; rows are checked without.
            clock_offset: ClockOffset::ZERO,
            clock_slate: false,
        })
        .collect();
    names::assign(&NameSource::Sheet(sheet), &refs, &options.naming.assign)
        .map(|_| ())
        .map_err(|error| ConfigError::Usage(error.to_string()))
}

/// Who is in each photo: the sheet or the slates the analyses read, then the corrections over
/// them. `None` for the review when the run has neither names nor corrections.
fn assign_names(
    facts: &[PhotoFacts<'_>],
    options: &RunOptions,
) -> Result<(Vec<PhotoAssignment>, Option<Review>), ConfigError> {
    let corrections: Vec<Option<&PhotoCorrection>> = facts.iter().map(|f| f.correction).collect();
    let corrected = corrections.iter().any(Option::is_some);
    let source = &options.naming.source;
    if source.is_none() && !corrected {
        return Ok((unnamed_assignments(facts), None));
    }
    let cameras: Vec<String> = facts.iter().map(|fact| fact.photo.camera_id()).collect();
    let refs: Vec<PhotoRef<'_>> = facts
        .iter()
        .zip(&cameras)
        .map(|(fact, camera)| PhotoRef {
            path: &fact.photo.input.path,
            relative: &fact.photo.input.relative,
            capture_time: fact.photo.exif.capture_time.as_ref(),
            camera: Some(camera),
            clock_offset: fact.clock_offset,
            clock_slate: fact
                .analysis
                .is_some_and(|analysis| analysis.clock_reading().is_some()),
        })
        .collect();
    let mut warnings = Vec::new();
    let assignments = match source {
        None => Ok(names::Assignments {
            photos: unnamed_assignments(facts),
            review: Review::default(),
        }),
        Some(names::NamesFrom::Sheet(sheet)) => {
            names::assign(&NameSource::Sheet(sheet), &refs, &options.naming.assign)
        }
        Some(names::NamesFrom::Slates { roster }) => {
            let payloads = slate_payloads(facts, options, &mut warnings);
            let source = NameSource::Slates {
                payloads: &payloads,
                roster: roster.as_ref(),
            };
            names::assign(&source, &refs, &options.naming.assign)
        }
    }
    .map_err(|error| ConfigError::Usage(error.to_string()))?;
    let (mut photos, mut review) = (assignments.photos, assignments.review);
    review.warnings.extend(warnings);
    if corrected {
        let slates_run = options.reads_slates();
        overrides::apply(&mut photos, &refs, &corrections, slates_run, &mut review);
        if source.is_none() {
            // Without names, only what the corrections say is worth a look.
            review.unnamed_photos.clear();
        }
    }
    // A photo that could not be read is already listed as failed; listing it again as "taken
    // before the first slate" would send a volunteer looking for a name it cannot have.
    let failed: HashSet<&Path> = facts
        .iter()
        .filter(|fact| fact.analysis.is_none())
        .map(|fact| fact.photo.input.relative.as_path())
        .collect();
    review
        .unnamed_photos
        .retain(|unnamed| !failed.contains(unnamed.photo.as_path()));
    Ok((photos, Some(review)))
}

/// Nobody named: every photo a portrait, except the clock slates.
fn unnamed_assignments(facts: &[PhotoFacts<'_>]) -> Vec<PhotoAssignment> {
    let clock_slate = PhotoAssignment {
        role: Role::ClockSlate,
        ..PhotoAssignment::default()
    };
    facts
        .iter()
        .map(
            |fact| match fact.analysis.and_then(PhotoAnalysis::clock_reading) {
                Some(_) => clock_slate.clone(),
                None => PhotoAssignment::default(),
            },
        )
        .collect()
}

/// What each photo's QR slate says, as names assignment reads it: `None` where a correction
/// says what the frame is, Photo Mechanic codes expanded.
fn slate_payloads(
    facts: &[PhotoFacts<'_>],
    options: &RunOptions,
    warnings: &mut Vec<String>,
) -> Vec<Option<String>> {
    let codes = options.naming.codes.as_ref();
    facts
        .iter()
        .map(|fact| {
            let payload = fact.analysis.and_then(|a| a.slate_code.clone().flatten())?;
            if !overrides::keeps_slate_reading(fact.correction) {
                return None;
            }
            let Some(codes) = codes else {
                return Some(payload);
            };
            match codes.expand(&payload) {
                Ok(expanded) => Some(expanded.into_owned()),
                Err(error) => {
                    let slate = fact.photo.input.relative.display();
                    warnings.push(format!("slate {slate}: {error}"));
                    Some(payload)
                }
            }
        })
        .collect()
}

/// The wanted path of each derivative (before collisions are resolved), in export order.
fn output_paths(
    fact: &PhotoFacts<'_>,
    assignment: &PhotoAssignment,
    position: usize,
    seq_width: usize,
    options: &RunOptions,
) -> Vec<PathBuf> {
    let photo = fact.photo;
    let person = assignment.person.as_ref();
    let columns = options
        .naming
        .source
        .as_ref()
        .map(names::NamesFrom::columns)
        .unwrap_or_default();
    let folder = options
        .naming
        .by_person
        .then(|| names::person_folder(person));
    let stem = photo
        .input
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "photo".to_string());
    let shoot = options.shoot_for(photo);
    let capture = photo.exif.capture_time.as_ref();
    let date = capture.map(ExifCaptureTime::date);
    let time = capture.map(ExifCaptureTime::time_for_filename);
    let derivatives = &options.export.derivatives;
    derivatives
        .iter()
        .map(|derivative| {
            let values = NameValues {
                stem: &stem,
                derivative: &derivative.name,
                seq: position + 1,
                seq_width,
                date: date.as_deref(),
                time: time.as_deref(),
                event: shoot.event.as_deref(),
                name: person.map(|person| person.name.as_str()),
                person_seq: assignment.person_seq,
                columns: person.map(|person| person.extra.as_slice()).unwrap_or(&[]),
                ext: derivative.format.extension(),
            };
            let own = derivative
                .template
                .as_deref()
                .and_then(|text| NameTemplate::parse_with_columns(text, &columns).ok());
            let template = own.as_ref().unwrap_or(&options.template);
            let mut path = template.render(&values);
            if !template.uses("derivative")
                && derivatives.len() > 1
                && derivative.template.is_none()
            {
                // Without {derivative}, every derivative of a photo would claim one name.
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
                path = path.with_file_name(format!(
                    "{}_{}.{}",
                    stem.unwrap_or_default(),
                    derivative.name,
                    ext.unwrap_or_default()
                ));
            }
            match &folder {
                Some(folder) => Path::new(folder).join(path),
                None => path,
            }
        })
        .collect()
}

/// The metadata of one staged derivative under its decided name and person.
pub fn output_metadata(
    photo: (&PlannedPhoto, Option<&PhotoAnalysis>),
    plan: &PhotoPlan,
    options: &RunOptions,
    staged: &StagedOutput,
) -> OutputMetadata {
    let size = PixelSize {
        width: staged.width,
        height: staged.height,
    };
    photo_metadata(photo, plan, options, &staged.window.into(), size)
}

/// What this run writes into a file showing `window` of the photo at `size` pixels: the person's
/// name, caption and keywords, the shoot's credit, and the faces as regions in its frame.
fn photo_metadata(
    (photo, analysis): (&PlannedPhoto, Option<&PhotoAnalysis>),
    plan: &PhotoPlan,
    options: &RunOptions,
    window: &CropWindow,
    size: PixelSize,
) -> OutputMetadata {
    let shoot = &options.shoot_for(photo);
    let name = plan.assignment.person.as_ref().map(|p| p.name.clone());
    let mut metadata = OutputMetadata::new(size.width, size.height);
    metadata.event = shoot.event.clone();
    metadata.creator = shoot.credit.clone();
    metadata.rights = shoot.copyright.clone();
    metadata.title = name.clone();
    metadata.persons_in_image.extend(name.clone());
    metadata.caption = plan.caption.clone();
    metadata.keywords = plan.keywords.clone();
    let faces = analysis.map(PhotoAnalysis::faces).unwrap_or(&[]);
    // A headshot's person is its largest face; other faces get unnamed regions.
    let subject = faces
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| a.area().total_cmp(&b.area()))
        .map(|(index, _)| index);
    metadata.face_regions = faces
        .iter()
        .enumerate()
        .filter_map(|(index, face)| {
            let region_name = name.clone().filter(|_| Some(index) == subject);
            let face_box = FaceRecord::from_face(face).bbox;
            FaceRegion::from_source_box(region_name, face_box, window, size)
        })
        .collect();
    metadata.capture_time = photo.exif.capture_time;
    metadata
}
