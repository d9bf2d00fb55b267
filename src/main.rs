//! The `headshot` command: parses flags, calls the library, reports, and sets the exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use headshot::config::{NamesFlags, RunFlags};
use headshot::error::ConfigError;
use headshot::metadata::MetadataPolicy;
use headshot::names::{Review, Roster};
use headshot::pipeline::{Job, Progress, RunReport};
use headshot::plan::RunOptions;
use headshot::presets::{PresetKind, Registry};
use headshot::serve::ServeEvent;
use headshot::{decode, face_overlay, inspect, pipeline};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

#[derive(Parser)]
#[command(
    name = "headshot",
    version = version_text(),
    about = "Turn a conference headshot shoot into a named, gallery-ready set of photos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process a shoot: every photo once, every derivative from that one decode.
    #[command(
        after_help = "Example: headshot run sample-images --out gallery   (uses sample-images/headshot.toml)"
    )]
    Run(Box<RunArgs>),
    /// Run the shoot like `run`, then watch its folders and serve the tagging desk: a page
    /// where volunteers name the photos as they arrive (saved in OUT/corrections.csv).
    #[command(
        after_help = "Example: headshot serve shoot --out gallery --slates --roster roster.csv   (then open the printed URL)"
    )]
    Serve(Box<ServeArgs>),
    /// List presets or show one resolved (after `extends`).
    #[command(after_help = "Example: headshot presets show headshot-4x5")]
    Presets {
        #[command(subcommand)]
        action: PresetsAction,
        /// Folder of user presets (crop/, tone/, export/ inside); may be repeated.
        #[arg(long = "presets", global = true)]
        preset_folders: Vec<PathBuf>,
    },
    /// Show what headshot sees in photos: size, orientation, capture time, camera, exposure,
    /// and with --names or --slates who the photo is assigned to and why.
    #[command(after_help = "Example: headshot inspect --faces why.png sample-images/IMG_0103.jpg")]
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
    #[command(
        after_help = "Example: headshot slates --roster sample-images/roster.csv --out cards"
    )]
    Slates {
        /// Roster CSV/TSV with `id` and `name` columns.
        #[arg(long)]
        roster: PathBuf,
        /// Folder for the cards (created if missing).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Show a QR code of the current time for each camera to photograph once (a clock slate):
    /// in the terminal, as a full-screen page (--listen), or as one PNG (--png).
    #[command(
        after_help = "Example: headshot clock --listen 0.0.0.0:8081   (open http://THIS-MACHINE:8081 on a phone)"
    )]
    Clock {
        /// Serve the clock as a full-screen web page at this address.
        #[arg(long, value_name = "ADDR", conflicts_with = "png")]
        listen: Option<String>,
        /// Write one code as a PNG image instead (for printing, or tests).
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// With --png: the time to encode [default: now], e.g. 2026-12-04T10:15:03.4+01:00.
        #[arg(long, value_name = "TIME", requires = "png")]
        at: Option<String>,
    },
    /// Print a shell completion script to stdout (see the README for where it goes).
    #[command(
        after_help = "Example: headshot completions bash > ~/.local/share/bash-completion/completions/headshot"
    )]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    #[command(after_help = "Example: headshot man > ~/.local/share/man/man1/headshot.1")]
    Man,
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
    /// Roster (CSV `id,name,…`) the slates' codes are looked up in; an optional `photo`
    /// column (relative to the roster) gives each attendee's reference photo for face checks.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// Added to camera times before matching a `time` sheet; a camera 2 min fast takes -00:02:00.
    #[arg(long, value_name = "±HH:MM:SS", allow_hyphen_values = true)]
    clock_offset: Option<String>,
    /// Photos taken longer than this after their `time` entry stay unnamed (e.g. 5m, 90s, 00:05:00).
    #[arg(long, value_name = "DURATION")]
    max_gap: Option<String>,
    /// Photo Mechanic code replacements (`code<TAB>name` per line): `=j23=` in a name stands for it.
    #[arg(long, value_name = "FILE")]
    codes: Option<PathBuf>,
}

#[derive(Subcommand)]
enum PresetsAction {
    /// Built-in and user presets, one line each.
    #[command(after_help = "Example: headshot presets list --presets my-presets")]
    List,
    /// The resolved TOML of one preset.
    #[command(after_help = "Example: headshot presets show warm --kind tone")]
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
    /// No face descriptors (biometric data): names are not checked against faces, and the
    /// descriptors cached by earlier runs are removed from OUT/.headshot/.
    #[arg(long)]
    no_biometrics: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Address of the desk page. Beyond loopback (e.g. 0.0.0.0:8080 for a tablet on the
    /// Wi-Fi) the printed URL carries an access token; without it every request is refused.
    #[arg(long, default_value = headshot::serve::DEFAULT_LISTEN)]
    listen: std::net::SocketAddr,
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
    return_image_buffers_to_the_system();
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
        Command::Serve(args) => match serve(*args) {
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
            let request = InspectRequest {
                names,
                shoot,
                drawing: faces,
                crops,
                preset_folders,
                no_faces,
            };
            inspect_command(&files, &request, json)
        }
        Command::Slates { roster, out } => slates_command(&roster, &out),
        Command::Clock { listen, png, at } => clock_command(listen, png, at),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "headshot",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Man => man_command(),
    }
}

/// `0.1.0 (libjpeg SIMD: yes)`: the version, and whether this build decodes JPEGs with SIMD.
fn version_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} ({})",
            env!("CARGO_PKG_VERSION"),
            decode::jpeg_simd_summary()
        )
    })
}

/// The man page, generated from the same clap definitions as `--help`.
fn man_command() -> ExitCode {
    // The plain version: the page's header is no place for the build note.
    let command = Cli::command().version(env!("CARGO_PKG_VERSION"));
    match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("headshot: cannot write the man page: {error}");
            ExitCode::from(1)
        }
    }
}

struct InspectRequest {
    names: NamesArgs,
    shoot: Option<PathBuf>,
    drawing: Option<PathBuf>,
    crops: Vec<String>,
    preset_folders: Vec<PathBuf>,
    no_faces: bool,
}

fn inspect_command(files: &[PathBuf], request: &InspectRequest, json: bool) -> ExitCode {
    let mut inspections: Vec<_> = files.iter().map(|file| inspect::inspect(file)).collect();
    if let Err(error) = add_run_view(&mut inspections, files, request) {
        eprintln!("headshot: {error}");
        return ExitCode::from(2);
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

/// `inspect`: what `run` would find in each file (faces, each crop's window) and who it would
/// name, from the same settings (flags over the shoot file) and the same analyse and decide code.
fn add_run_view(
    inspections: &mut [inspect::Inspection],
    files: &[PathBuf],
    request: &InspectRequest,
) -> Result<(), ConfigError> {
    let names_wanted = request.names.names.is_some() || request.names.slates;
    let wants_faces = !request.no_faces || request.drawing.is_some();
    let shoot = request
        .shoot
        .clone()
        .unwrap_or_else(|| inspect::default_shoot_folder(&files[0]));
    // No output folder to skip: a hidden name discovery never enters, and never created.
    let mut flags = RunFlags::new(vec![shoot.clone()], shoot.join(".headshot-inspect"));
    flags.preset_folders = request.preset_folders.clone();
    flags.names = request.names.to_flags();
    // The first --crop is the run's crop, so the decode and analysis match `run --crop` exactly.
    flags.crop = request.crops.first().cloned();
    let options = RunOptions::resolve(&flags)?;
    for (inspection, file) in inspections.iter_mut().zip(files) {
        let path = inspect::path_in_shoot(file, &shoot);
        inspection.settings = options.shoot_layers.origins_for(&path, &inspection.exif);
    }
    if !wants_faces && !names_wanted && options.naming.source.is_none() {
        return Ok(());
    }
    let registry = Registry::new(request.preset_folders.clone());
    let crop_names: Vec<String> = if request.crops.is_empty() {
        headshot::crop::BUILTIN_CROP_PRESETS
            .iter()
            .map(|(name, _)| name.to_string())
            .collect()
    } else {
        request.crops.clone()
    };
    let mut crops = Vec::new();
    if wants_faces {
        for name in crop_names {
            let resolved = registry.crop(&name, Path::new(""))?;
            crops.push((resolved.name, resolved.preset));
        }
    }
    let mut options = options;
    options.detect_faces = wants_faces;
    let job = Job::plan(options)?;
    let extra: Vec<_> = crops.iter().map(|(_, preset)| preset.clone()).collect();
    let results = job.inspect(files, &extra, request.drawing.is_some());
    let several = files.len() > 1;
    for ((inspection, file), result) in inspections.iter_mut().zip(files).zip(results) {
        if inspection.error.is_some() {
            continue;
        }
        let inspected = match result {
            Ok(inspected) => inspected,
            Err(error) => {
                inspection.warnings.push(format!("analysis: {error}"));
                continue;
            }
        };
        inspection.naming = inspected.assignment;
        inspection.face_distances = inspected.face_distances;
        if !wants_faces {
            continue;
        }
        let preview = inspected
            .drawing
            .unwrap_or_else(|| image::RgbImage::new(1, 1));
        let analysis = face_overlay::FaceAnalysis::new(&inspected.analysis, &crops, preview);
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

/// `headshot clock`: one PNG, the page server, or the code redrawn in the terminal every tenth
/// of a second until interrupted.
fn clock_command(listen: Option<String>, png: Option<PathBuf>, at: Option<String>) -> ExitCode {
    use headshot::clock_code::{self, ClockReading};
    if let Some(path) = png {
        let reading = match at.as_deref().map(ClockReading::parse_at).transpose() {
            Ok(reading) => reading.unwrap_or_else(ClockReading::now),
            Err(error) => {
                eprintln!("headshot: --at: {error}");
                return ExitCode::from(2);
            }
        };
        let bytes = clock_code::png(&reading, 16);
        if let Err(error) = headshot::output::write_atomically(&path, &bytes) {
            eprintln!("headshot: cannot write {}: {error}", path.display());
            return ExitCode::from(1);
        }
        println!("{} written to {}", reading.payload(), path.display());
        return ExitCode::SUCCESS;
    }
    if let Some(address) = listen {
        let server = match headshot::clock_server::ClockServer::bind(&address) {
            Ok(server) => server,
            Err(error) => {
                eprintln!("headshot: {error}");
                return ExitCode::from(2);
            }
        };
        let shown = server.address().map_or(address, |bound| bound.to_string());
        println!("clock page at http://{shown}/ (Ctrl-C to stop)");
        server.run();
        return ExitCode::SUCCESS;
    }
    print!("\x1b[2J");
    loop {
        let reading = ClockReading::now();
        // Home the cursor and redraw over the last code, then clear whatever is left below.
        print!("\x1b[H{}\x1b[J", clock_code::terminal_text(&reading));
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let into_tenth = jiff::Timestamp::now().subsec_nanosecond() % 100_000_000;
        std::thread::sleep(std::time::Duration::from_nanos(
            (100_000_000 - into_tenth) as u64,
        ));
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

impl NamesArgs {
    fn to_flags(&self) -> NamesFlags {
        NamesFlags {
            names: self.names.clone(),
            slates: self.slates,
            roster: self.roster.clone(),
            clock_offset: self.clock_offset.clone(),
            max_gap: self.max_gap.clone(),
            codes: self.codes.clone(),
        }
    }
}

impl RunArgs {
    fn to_flags(&self) -> RunFlags {
        RunFlags {
            export: self.export.clone(),
            crop: self.crop.clone(),
            tone: self.tone.clone(),
            template: self.template.clone(),
            config: self.config.clone(),
            preset_folders: self.preset_folders.clone(),
            jobs: self.jobs,
            max_megapixels: self.max_megapixels,
            event: self.event.clone(),
            credit: self.credit.clone(),
            copyright: self.copyright.clone(),
            force: self.force,
            metadata_policy: self.metadata.into(),
            faces: self.faces,
            names: self.names.to_flags(),
            caption: self.caption.clone(),
            by_person: self.by_person,
            sidecars: self.sidecars,
            no_biometrics: self.no_biometrics,
            ..RunFlags::new(self.inputs.clone(), self.out.clone())
        }
    }
}

fn run(args: RunArgs) -> Result<ExitCode, ConfigError> {
    let options = RunOptions::resolve(&args.to_flags())?;
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
    let report = job.run(&|event| {
        let (source, failure) = match event {
            Progress::Rendered { source, failure } => {
                progress.inc(1);
                (source, failure)
            }
            Progress::Finished { record, failure } => (Path::new(&record.source), failure),
        };
        if let (true, Some(failure)) = (show_progress, failure) {
            progress.suspend(|| eprintln!("failed: {}: {}", source.display(), failure.error));
        }
    })?;
    progress.finish_and_clear();
    print_summary(&report, &job);
    Ok(exit_code(&report))
}

/// Set by Ctrl-C (SIGINT) or SIGTERM: `serve` finishes the photos in flight and stops.
static STOP: AtomicBool = AtomicBool::new(false);

/// A first Ctrl-C asks `serve` to stop cleanly; a second one ends the process at once (what
/// was written is whole either way: temp files and the journal).
fn stop_on_ctrl_c() {
    #[cfg(unix)]
    {
        extern "C" fn on_signal(_: libc::c_int) {
            if STOP.swap(true, Ordering::SeqCst) {
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(130) };
            }
        }
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only touches an atomic and calls _exit.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }
}

fn serve(args: ServeArgs) -> Result<ExitCode, ConfigError> {
    let flags = args.run.to_flags();
    let options = RunOptions::resolve(&flags)?;
    // Held for the whole serve; its batches run the pipeline directly and never lock again.
    let _output_lock = headshot::lock::OutputLock::acquire(&options.output_dir)?;
    stop_on_ctrl_c();
    let quiet = args.run.quiet;
    headshot::serve::serve(&flags, options, args.listen, &STOP, &|event| {
        print_serve_event(&event, quiet)
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_serve_event(event: &ServeEvent<'_>, quiet: bool) {
    match event {
        ServeEvent::Listening { url } => {
            println!("Serving {url}  (Ctrl-C to stop; outputs are kept)")
        }
        ServeEvent::Batch { report, changes } => {
            let summary = &report.manifest.summary;
            let counts = &report.manifest.timing.counts;
            if !quiet || summary.failed > 0 {
                println!(
                    "{} photos ({} files changed): {} decoded, {} outputs written, {} need review, {} failed",
                    summary.photos,
                    changes.len(),
                    counts.decodes,
                    counts.outputs_finished,
                    summary.needs_review,
                    summary.failed
                );
            }
            for failure in &report.failures {
                println!("  failed: {failure}");
            }
        }
        ServeEvent::BatchFailed { error } => eprintln!("headshot: {error}"),
        ServeEvent::Interrupted => {
            println!("stopped; the next run or serve goes on from here")
        }
    }
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
    if summary.rejected > 0 {
        println!("{} photos rejected (corrections.csv):", summary.rejected);
        for photo in &report.manifest.photos {
            if photo.role == headshot::names::Role::Rejected {
                println!("  {}", photo.source);
            }
        }
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
    print_cameras(&report.manifest.cameras);
    if let Some(review) = &report.manifest.review {
        print_review(review);
    }
    if let Some(hint) = decode::jpeg_simd_hint() {
        println!("{hint}");
    }
    if !report.failures.is_empty() {
        println!("failed:");
        for failure in &report.failures {
            println!("  {failure}");
        }
    }
}

/// The cameras of the shoot with their photos and clock offsets, when there is more than one or
/// an offset applies.
fn print_cameras(cameras: &[headshot::clocks::CameraClock]) {
    if cameras.len() < 2 && cameras.iter().all(|camera| camera.clock_offset.is_none()) {
        return;
    }
    println!("{} cameras:", cameras.len());
    for camera in cameras {
        let clock = match (&camera.clock_offset, &camera.clock_source) {
            (Some(offset), Some(source)) => format!("clock {offset} ({source})"),
            _ => "no clock offset".to_string(),
        };
        let credit = camera
            .credit
            .as_deref()
            .map(|credit| format!(", credit {credit}"))
            .unwrap_or_default();
        println!("  {}: {} photos, {clock}{credit}", camera.id, camera.photos);
    }
}

/// Decoded photos, previews and derivatives are large, short-lived buffers of many sizes, two
/// photos' worth at a time, between small records kept for the whole shoot. glibc's malloc kept
/// the freed buffers resident around those records: peak RSS of the booth job depended on how
/// the workers' first photos interleaved (119-147 MB for the same 3,000 photos) and rose with
/// the shoot. jemalloc reuses and returns them by size class, so the peak is the workers' live
/// buffers plus the records (bench/README.md, "Peak RSS").
#[cfg(all(unix, not(target_os = "openbsd")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The C codecs (libjpeg's work arrays) still allocate through glibc's malloc. Its mmap
/// threshold rises to the size of each mapped block freed and then keeps such blocks in the
/// heap; a fixed 4 MB threshold returns any larger one to the system on free.
fn return_image_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
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
    use super::Cli;
    use clap::CommandFactory;

    /// Every subcommand, nested ones too, ends its `--help` with a one-line example.
    #[test]
    fn every_subcommand_has_an_example() {
        fn check(command: &clap::Command, path: &str) {
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let example = sub.get_after_help().map(|help| help.to_string());
                assert!(
                    example
                        .as_deref()
                        .is_some_and(|text| text.starts_with("Example: headshot ")),
                    "{path}: no example in after_help"
                );
                check(sub, &path);
            }
        }
        let cli = Cli::command();
        assert!(cli.get_subcommands().count() >= 6);
        check(&cli, "headshot");
    }

    #[test]
    fn rates_keep_two_significant_digits() {
        assert_eq!(two_significant_digits(16.93), "17");
        assert_eq!(two_significant_digits(1.234), "1.2");
        assert_eq!(two_significant_digits(0.0412), "0.041");
        assert_eq!(two_significant_digits(0.0), "0");
    }
}
