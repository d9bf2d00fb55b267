//! The `headshot` command: parses flags, calls the library, reports, and sets the exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use headshot::error::ConfigError;
use headshot::faces::FaceDetector;
use headshot::manifest::Status;
use headshot::metadata::MetadataPolicy;
use headshot::names::{NamingConfig, NamingSettings, Review, Roster};
use headshot::naming::{check_template_extension, NameTemplate, DEFAULT_TEMPLATE};
use headshot::pipeline::{Job, RunOptions, RunReport, ShootInfo};
use headshot::presets::{PresetKind, Registry, ShootFile};
use headshot::rerun::RerunPolicy;
use headshot::{decode, face_overlay, inspect, pipeline};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "headshot",
    version,
    about = "Turn a conference headshot shoot into a named, gallery-ready set of photos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process a shoot: every photo once, every derivative from that one decode.
    Run(Box<RunArgs>),
    /// List presets or show one resolved (after `extends`).
    Presets {
        #[command(subcommand)]
        action: PresetsAction,
        /// Folder of user presets (crop/, tone/, export/ inside); may be repeated.
        #[arg(long = "presets", global = true)]
        preset_folders: Vec<PathBuf>,
    },
    /// Show what headshot sees in photos: size, orientation, capture time, camera, exposure,
    /// and with --names or --slates who the photo is assigned to and why.
    Inspect {
        /// Image files to inspect.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        names: NamesArgs,
        /// The shoot folder the sheet's paths are relative to [default: the file's folder].
        #[arg(long)]
        shoot: Option<PathBuf>,
        /// Draw faces, eyes and each crop preset's window on a preview, as PNG (one file: this
        /// path; several: a folder to hold STEM.faces.png per file).
        #[arg(long, value_name = "OUT")]
        faces: Option<PathBuf>,
        /// Crop presets to plan and draw (repeatable) [default: every built-in crop].
        #[arg(long = "crop")]
        crops: Vec<String>,
        /// Folder of user presets (crop/ inside); may be repeated.
        #[arg(long = "presets")]
        preset_folders: Vec<PathBuf>,
        /// Skip face detection and crop planning (EXIF and header facts only).
        #[arg(long)]
        no_faces: bool,
    },
    /// Print QR slate cards: one PNG per attendee of a roster, and a page with all of them.
    Slates {
        /// Roster CSV/TSV with `id` and `name` columns.
        #[arg(long)]
        roster: PathBuf,
        /// Folder for the cards (created if missing).
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// Who is in which photo (for `run` and `inspect`).
#[derive(clap::Args, Default)]
struct NamesArgs {
    /// Names sheet (CSV/TSV) with a `file`, `first_file` or `time` column, and `name`.
    #[arg(long = "names", value_name = "FILE")]
    names: Option<PathBuf>,
    /// QR slates: a frame whose QR code reads names the frames after it.
    #[arg(long)]
    slates: bool,
    /// Roster (CSV `id,name,…`) the slates' codes are looked up in.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// Added to camera times before matching a `time` sheet; a camera 2 min fast takes -00:02:00.
    #[arg(long, value_name = "±HH:MM:SS", allow_hyphen_values = true)]
    clock_offset: Option<String>,
    /// Photos taken longer than this after their `time` entry stay unnamed (e.g. 5m, 90s, 00:05:00).
    #[arg(long, value_name = "DURATION")]
    max_gap: Option<String>,
}

#[derive(Subcommand)]
enum PresetsAction {
    /// Built-in and user presets, one line each.
    List,
    /// The resolved TOML of one preset.
    Show {
        name: String,
        /// crop, tone or export, when the name is ambiguous.
        #[arg(long)]
        kind: Option<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Photos and folders of photos (folders are searched recursively).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder for derivatives and manifest.json (created if missing).
    #[arg(long, short)]
    out: PathBuf,
    /// Export preset: web, gallery, a --presets name or a TOML file [default: web].
    #[arg(long)]
    export: Option<String>,
    /// Crop preset: original, headshot-4x5, avatar-1x1, portrait-2x3, or a file [default: original].
    #[arg(long)]
    crop: Option<String>,
    /// Tone preset: neutral, clean-bright, warm, bw-classic, high-key, or a file [default: neutral].
    #[arg(long)]
    tone: Option<String>,
    /// Output file-name template, e.g. "{date}/{seq}_{stem}_{derivative}.{ext}" [default: {stem}_{derivative}.{ext}].
    #[arg(long)]
    template: Option<String>,
    /// Shoot file (default: headshot.toml in the first input folder, if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Folder of user presets (crop/, tone/, export/ inside); may be repeated.
    #[arg(long = "presets")]
    preset_folders: Vec<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// No progress bar or per-file lines; only the summary and errors.
    #[arg(long, short)]
    quiet: bool,
    /// Refuse images above this many megapixels (decompression-bomb guard).
    #[arg(long, default_value_t = decode::DEFAULT_MAX_MEGAPIXELS)]
    max_megapixels: u64,
    /// Event name, for captions, keywords and {event} in file names.
    #[arg(long)]
    event: Option<String>,
    /// Photographer credit (XMP dc:creator, IPTC By-line, EXIF Artist).
    #[arg(long)]
    credit: Option<String>,
    /// Copyright notice (XMP dc:rights, IPTC Copyright, EXIF Copyright).
    #[arg(long)]
    copyright: Option<String>,
    /// Redo every photo, even those whose outputs are current from an earlier run.
    #[arg(long)]
    force: bool,
    /// Source metadata carried into outputs: privacy drops GPS, serial numbers and maker notes.
    #[arg(long, value_enum, default_value_t = PolicyArg::Privacy)]
    metadata: PolicyArg,
    /// Detect faces and record them in the manifest even when no crop in use needs them.
    #[arg(long)]
    faces: bool,
    #[command(flatten)]
    names: NamesArgs,
    /// Caption (XMP dc:description, IPTC Caption, EXIF ImageDescription) [default with names:
    /// "{name}, {event}"]; tokens {name}, {event} and the sheet's extra columns, e.g. {company}.
    #[arg(long, value_name = "TEMPLATE")]
    caption: Option<String>,
    /// Put each person's photos in a folder of their own (unnamed ones in _unnamed/).
    #[arg(long)]
    by_person: bool,
    /// Write an .xmp sidecar per original (name, caption) under OUT/sidecars/, mirroring the shoot.
    #[arg(long)]
    sidecars: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PolicyArg {
    /// Keep capture time, camera and exposure; drop GPS, serials, maker notes, people.
    Privacy,
    /// Carry the source's EXIF over, rewritten for the derivative.
    Keep,
    /// Only what this run sets.
    Strip,
}

impl From<PolicyArg> for MetadataPolicy {
    fn from(policy: PolicyArg) -> Self {
        match policy {
            PolicyArg::Privacy => MetadataPolicy::Privacy,
            PolicyArg::Keep => MetadataPolicy::Keep,
            PolicyArg::Strip => MetadataPolicy::Strip,
        }
    }
}

/// Exit codes: 0 all photos done, 1 some photos failed, 2 usage or configuration error.
fn exit_code(report: &RunReport) -> ExitCode {
    if report.any_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    die_quietly_on_closed_pipe();
    quiet_panics_inside_photos();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match run(*args) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("headshot: {error}");
                ExitCode::from(2)
            }
        },
        Command::Presets {
            action,
            preset_folders,
        } => presets_command(action, Registry::new(preset_folders)),
        Command::Inspect {
            files,
            json,
            names,
            shoot,
            faces,
            crops,
            preset_folders,
            no_faces,
        } => {
            let mut inspections: Vec<_> = files.iter().map(|file| inspect::inspect(file)).collect();
            if let Err(error) = add_assignments(&mut inspections, &files, &names, shoot) {
                eprintln!("headshot: {error}");
                return ExitCode::from(2);
            }
            if !no_faces || faces.is_some() {
                let request = FaceRequest {
                    drawing: faces,
                    crops,
                    registry: Registry::new(preset_folders),
                };
                if let Err(error) = add_face_analyses(&mut inspections, &files, &request) {
                    eprintln!("headshot: {error}");
                    return ExitCode::from(2);
                }
            }
            if json {
                let value = if inspections.len() == 1 {
                    serde_json::to_string_pretty(&inspections[0])
                } else {
                    serde_json::to_string_pretty(&inspections)
                };
                println!("{}", value.unwrap_or_default());
            } else {
                let texts: Vec<String> = inspections.iter().map(|i| i.to_text()).collect();
                println!("{}", texts.join("\n\n"));
            }
            if inspections.iter().any(|i| i.error.is_some()) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Slates { roster, out } => slates_command(&roster, &out),
    }
}

struct FaceRequest {
    drawing: Option<PathBuf>,
    crops: Vec<String>,
    registry: Registry,
}

/// `inspect`: faces and each crop preset's window per file, drawn with `--faces OUT`.
fn add_face_analyses(
    inspections: &mut [inspect::Inspection],
    files: &[PathBuf],
    request: &FaceRequest,
) -> Result<(), ConfigError> {
    let crop_names: Vec<String> = if request.crops.is_empty() {
        headshot::crop::BUILTIN_CROP_PRESETS
            .iter()
            .map(|(name, _)| name.to_string())
            .collect()
    } else {
        request.crops.clone()
    };
    let mut crops = Vec::new();
    for name in crop_names {
        let resolved = request.registry.crop(&name, Path::new(""))?;
        crops.push((resolved.name, resolved.preset));
    }
    let detector = FaceDetector::new().map_err(|error| ConfigError::Usage(error.to_string()))?;
    let several = files.len() > 1;
    for (inspection, file) in inspections.iter_mut().zip(files) {
        if inspection.error.is_some() {
            continue;
        }
        match face_overlay::analyse(file, &crops, &detector, decode::DEFAULT_MAX_MEGAPIXELS) {
            Ok(analysis) => {
                if let Some(out) = &request.drawing {
                    let path = if several {
                        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
                        out.join(format!("{stem}.faces.png"))
                    } else {
                        out.clone()
                    };
                    if let Err(error) = face_overlay::write_drawing(&analysis, &path) {
                        inspection.error = Some(error);
                    }
                }
                inspection.face_analysis = Some(analysis);
            }
            Err(error) => inspection.warnings.push(format!("face analysis: {error}")),
        }
    }
    Ok(())
}

/// `inspect --names/--slates`: who each file is assigned to, planned over its whole shoot.
fn add_assignments(
    inspections: &mut [inspect::Inspection],
    files: &[PathBuf],
    names: &NamesArgs,
    shoot: Option<PathBuf>,
) -> Result<(), ConfigError> {
    let naming = naming_settings(names, &ShootFile::default(), &PathBuf::new()).load()?;
    let Some(source) = &naming.source else {
        return Ok(());
    };
    let shoot = shoot.unwrap_or_else(|| inspect::default_shoot_folder(&files[0]));
    let assignments = inspect::assignments(
        files,
        &shoot,
        source,
        &naming.assign,
        decode::DEFAULT_MAX_MEGAPIXELS,
    )?;
    for (inspection, assignment) in inspections.iter_mut().zip(assignments) {
        inspection.naming = Some(assignment);
    }
    Ok(())
}

fn slates_command(roster: &std::path::Path, out: &std::path::Path) -> ExitCode {
    let roster = match Roster::load(roster) {
        Ok(roster) => roster,
        Err(error) => {
            eprintln!("headshot: {error}");
            return ExitCode::from(2);
        }
    };
    match headshot::names::render_cards(&roster, out) {
        Ok(set) => {
            for warning in &set.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "{} cards written to {}; all of them on one page: {}",
                set.cards.len(),
                out.display(),
                set.page.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("headshot: {error}");
            ExitCode::from(2)
        }
    }
}

/// Naming settings from flags, falling back to the shoot file (its paths relative to itself).
fn naming_settings(
    names: &NamesArgs,
    shoot: &ShootFile,
    shoot_folder: &std::path::Path,
) -> NamingSettings {
    let from_file = |path: &Option<String>| path.as_ref().map(|path| shoot_folder.join(path));
    NamingSettings {
        names: names.names.clone().or_else(|| from_file(&shoot.names)),
        slates: names.slates || shoot.slates.unwrap_or(false),
        roster: names.roster.clone().or_else(|| from_file(&shoot.roster)),
        clock_offset: names.clock_offset.clone().or(shoot.clock_offset.clone()),
        max_gap: names.max_gap.clone().or(shoot.max_gap.clone()),
        caption: shoot.caption.clone(),
        by_person: false,
        sidecars: false,
    }
}

/// A panic inside a photo is caught and reported as that photo's failure; don't also dump it raw.
fn quiet_panics_inside_photos() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !pipeline::in_photo_stage() {
            default_hook(info);
        }
    }));
}

fn presets_command(action: PresetsAction, registry: Registry) -> ExitCode {
    match action {
        PresetsAction::List => {
            for kind in PresetKind::ALL {
                for listing in registry.list(kind) {
                    let origin = if listing.origin == "built-in" {
                        String::new()
                    } else {
                        format!(" ({})", listing.origin)
                    };
                    println!(
                        "{:<7} {:<16} {}{origin}",
                        kind.folder(),
                        listing.name,
                        listing.description
                    );
                }
            }
            ExitCode::SUCCESS
        }
        PresetsAction::Show { name, kind } => {
            let kind = match kind.as_deref() {
                None => Ok(None),
                Some("crop") => Ok(Some(PresetKind::Crop)),
                Some("tone") => Ok(Some(PresetKind::Tone)),
                Some("export") => Ok(Some(PresetKind::Export)),
                Some(other) => Err(ConfigError::Usage(format!(
                    "--kind {other:?}: use crop, tone or export"
                ))),
            };
            match kind.and_then(|kind| registry.show(kind, &name)) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("headshot: {error}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// A preset the shoot file names but that cannot be found is the shoot file's mistake; one
/// given by a flag is not.
fn blame(shoot: &ShootFile, flag: &Option<String>, key: &str, error: ConfigError) -> ConfigError {
    if flag.is_none() {
        shoot.blame(key, error)
    } else {
        error
    }
}

/// The shoot file: `--config`, else `headshot.toml` in the first input folder.
fn find_shoot_file(args: &RunArgs) -> Result<(ShootFile, PathBuf), ConfigError> {
    let path = match &args.config {
        Some(path) => Some(path.clone()),
        None => args
            .inputs
            .iter()
            .find(|input| input.is_dir())
            .map(|folder| folder.join("headshot.toml"))
            .filter(|path| path.is_file()),
    };
    match path {
        Some(path) => {
            let folder = path.parent().map(PathBuf::from).unwrap_or_default();
            Ok((ShootFile::load(&path)?, folder))
        }
        None => Ok((ShootFile::default(), PathBuf::new())),
    }
}

fn run(args: RunArgs) -> Result<ExitCode, ConfigError> {
    if args.jobs == Some(0) {
        return Err(ConfigError::Usage("--jobs must be at least 1".to_string()));
    }
    let (shoot, shoot_folder) = find_shoot_file(&args)?;
    let registry = Registry::new(args.preset_folders.clone());
    // A flag names a preset relative to the current folder; the shoot file, relative to itself.
    let choose = |flag: &Option<String>, from_file: &Option<String>, default: &str| match (
        flag, from_file,
    ) {
        (Some(flag), _) => (flag.clone(), PathBuf::new()),
        (None, Some(value)) => (value.clone(), shoot_folder.clone()),
        (None, None) => (default.to_string(), PathBuf::new()),
    };
    let (export_name, export_folder) = choose(&args.export, &shoot.export, "web");
    let (crop_name, crop_folder) = choose(&args.crop, &shoot.crop, "original");
    let (tone_name, tone_folder) = choose(&args.tone, &shoot.tone, "neutral");
    let export = registry
        .export_relative(&export_name, &export_folder)
        .map_err(|error| blame(&shoot, &args.export, "export", error))?
        .preset;
    let crop = registry
        .crop(&crop_name, &crop_folder)
        .map_err(|error| blame(&shoot, &args.crop, "crop", error))?;
    let derivative_crops = export
        .derivatives
        .iter()
        .map(|derivative| {
            derivative
                .crop
                .as_ref()
                .map(|name| {
                    registry
                        .crop(name, &export_folder)
                        .map(|resolved| (resolved.name, resolved.preset))
                })
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tone = registry
        .tone(&tone_name, &tone_folder)
        .map_err(|error| blame(&shoot, &args.tone, "tone", error))?;
    let naming = NamingSettings {
        caption: args.caption.clone().or(shoot.caption.clone()),
        by_person: args.by_person,
        sidecars: args.sidecars,
        ..naming_settings(&args.names, &shoot, &shoot_folder)
    }
    .load()?;
    let columns = naming_columns(&naming);
    let template = args
        .template
        .clone()
        .or(shoot.template.clone())
        .unwrap_or_else(|| DEFAULT_TEMPLATE.to_string());
    for derivative in &export.derivatives {
        if let Some(template) = &derivative.template {
            NameTemplate::parse_with_columns(template, &columns)?;
        }
        check_template_extension(
            &derivative.name,
            derivative.format,
            derivative.template.as_deref().unwrap_or(&template),
        )?;
    }
    let options = RunOptions {
        inputs: args.inputs,
        output_dir: args.out,
        export,
        export_name,
        crop: (crop.name, crop.preset),
        derivative_crops,
        tone: Arc::new(tone),
        template: NameTemplate::parse_with_columns(&template, &columns)?,
        jobs: args.jobs,
        max_megapixels: args.max_megapixels,
        shoot: ShootInfo {
            event: args.event.or(shoot.event),
            credit: args.credit.or(shoot.credit),
            copyright: args.copyright.or(shoot.copyright),
        },
        metadata_policy: args.metadata.into(),
        detect_faces: args.faces,
        rerun: if args.force {
            RerunPolicy::RedoAll
        } else {
            RerunPolicy::SkipCurrent
        },
        naming,
    };
    // Held until `run` returns: a second run into this folder is refused (exit 2). Taken once
    // the settings are checked, so a usage error leaves no output folder behind.
    let _output_lock = headshot::lock::OutputLock::acquire(&options.output_dir)?;
    let job = Job::plan(options)?;
    let show_progress = !args.quiet && std::io::stdout().is_terminal();
    let progress = if show_progress {
        let bar = ProgressBar::new(job.photos.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} photos ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = job.run(&|record| {
        if show_progress && record.status == Status::Failed {
            progress.suspend(|| {
                eprintln!(
                    "failed: {}: {}",
                    record.source,
                    record.error.as_deref().unwrap_or("unknown error")
                )
            });
        }
        progress.inc(1);
    })?;
    progress.finish_and_clear();
    print_summary(&report, &job);
    Ok(exit_code(&report))
}

fn print_summary(report: &RunReport, job: &Job) {
    let summary = &report.manifest.summary;
    let timing = &report.manifest.timing;
    println!(
        "{} photos: {} ok, {} failed, {} skipped; {} outputs written to {} in {:.1} s ({} photos/s, {} jobs)",
        summary.photos,
        summary.ok,
        summary.failed,
        summary.skipped,
        summary.outputs_written,
        job.options.output_dir.display(),
        timing.wall_seconds,
        two_significant_digits(timing.photos_per_second),
        timing.jobs
    );
    let warned = report
        .manifest
        .photos
        .iter()
        .filter(|photo| !photo.warnings.is_empty())
        .count();
    if warned > 0 {
        println!("{warned} photos have warnings (see manifest.json)");
    }
    if summary.needs_review > 0 {
        println!("{} photos need review:", summary.needs_review);
        for photo in &report.manifest.photos {
            if let Some(reason) = &photo.needs_review {
                println!("  {}: {reason}", photo.source);
            }
        }
    }
    if !summary.removed_outputs.is_empty() {
        println!(
            "{} outputs of earlier runs removed (source gone, failed or renamed; see manifest.json)",
            summary.removed_outputs.len()
        );
    }
    if !summary.ignored_files.is_empty() {
        println!(
            "{} files ignored (not photos headshot reads; see manifest.json)",
            summary.ignored_files.len()
        );
    }
    if let Some(review) = &report.manifest.review {
        print_review(review);
    }
    if !report.failures.is_empty() {
        println!("failed:");
        for failure in &report.failures {
            println!("  {failure}");
        }
    }
}

/// Rust ignores SIGPIPE, so `headshot ... | head` would panic in `println!` (exit 101). Like
/// other Unix tools, end silently instead when the reader of stdout has gone.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `16.93` as "17", `1.234` as "1.2", `0.0412` as "0.041": a rate never rounds to 0.0.
fn two_significant_digits(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let decimals = (1.0 - value.abs().log10().floor()).max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// The sheet's (or roster's) extra columns, usable as file-name tokens.
fn naming_columns(naming: &NamingConfig) -> Vec<String> {
    naming
        .source
        .as_ref()
        .map(|source| source.columns())
        .unwrap_or_default()
}

/// What a volunteer should look at after a named run (also in manifest.json `review`).
fn print_review(review: &Review) {
    if review.is_clean() {
        println!("names: every photo named, every name photographed");
        return;
    }
    let list = |title: String, lines: Vec<String>| {
        if !lines.is_empty() {
            println!("{title}:");
            for line in lines {
                println!("  {line}");
            }
        }
    };
    list(
        format!("{} photos with no name", review.unnamed_photos.len()),
        review
            .unnamed_photos
            .iter()
            .map(|u| format!("{}: {}", u.photo.display(), u.reason))
            .collect(),
    );
    list(
        format!("{} names with no photo", review.names_without_photos.len()),
        review
            .names_without_photos
            .iter()
            .map(|n| format!("{} ({})", n.name, n.origin))
            .collect(),
    );
    list(
        format!(
            "{} rows name a file that is not in the shoot",
            review.missing_files.len()
        ),
        review
            .missing_files
            .iter()
            .map(|m| format!("line {}: {}", m.line, m.file))
            .collect(),
    );
    list(
        format!(
            "{} slates whose code is not in the roster",
            review.unmatched_slates.len()
        ),
        review
            .unmatched_slates
            .iter()
            .map(|s| format!("{}: {:?}", s.slate.display(), s.payload))
            .collect(),
    );
    list(
        format!(
            "{} photos with a QR code that is not a slate",
            review.foreign_codes.len()
        ),
        review
            .foreign_codes
            .iter()
            .map(|f| format!("{}: {:?}", f.photo.display(), f.payload))
            .collect(),
    );
    list("naming warnings".to_string(), review.warnings.clone());
}

#[cfg(test)]
mod tests {
    use super::two_significant_digits;

    #[test]
    fn rates_keep_two_significant_digits() {
        assert_eq!(two_significant_digits(16.93), "17");
        assert_eq!(two_significant_digits(1.234), "1.2");
        assert_eq!(two_significant_digits(0.0412), "0.041");
        assert_eq!(two_significant_digits(0.0), "0");
    }
}
