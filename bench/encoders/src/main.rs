//! Encoder comparison benchmark: which JPEG encoder gives the smallest file for the quality at a
//! good speed, with WebP and AVIF for context. Run it through bench/encoders.sh (see
//! bench/README.md); it prints progress on stderr and Markdown tables on stdout.

mod encoders;
mod quality;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use encoders::{Encoder, Picture, Scratch, Source};
use quality::{Probe, Reference};

/// The quality headshot asks for its `large` derivative, and view (a)'s setting for all encoders.
const NOMINAL_QUALITY: u8 = 85;
/// The `large` derivative's long edge.
const DEFAULT_LONG_EDGE: usize = 2048;

const USAGE: &str = "usage: headshot-encoder-bench [--reps N] [--long-edge PX] [--only a,b,..] [--no-match] PHOTO.jpg...
  --reps N        timed encodes per measurement, median reported (default 3)
  --long-edge PX  downsize each photo to this long edge first, untimed (default 2048; never upscales)
  --only LIST     encoders to run (mozjpeg-fast always runs: it sets the target score):
                  mozjpeg-fast, mozjpeg-trellis, image-jpeg, jpeg-encoder, cjpeg, webp, avif
  --no-match      skip view (b), the search for each encoder's setting at equal quality";

struct Options {
    reps: usize,
    long_edge: usize,
    encoders: Vec<Encoder>,
    match_quality: bool,
    photos: Vec<PathBuf>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        reps: 3,
        long_edge: DEFAULT_LONG_EDGE,
        encoders: Encoder::ALL.to_vec(),
        match_quality: true,
        photos: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--reps" => {
                options.reps = value("--reps")?
                    .parse()
                    .map_err(|_| "--reps takes a number")?;
                options.reps = options.reps.max(1);
            }
            "--long-edge" => {
                options.long_edge = value("--long-edge")?
                    .parse()
                    .map_err(|_| "--long-edge takes a number")?;
            }
            "--only" => {
                let mut chosen = vec![Encoder::MozjpegFast];
                for name in value("--only")?.split(',') {
                    let encoder =
                        Encoder::from_name(name.trim()).ok_or(format!("unknown encoder {name}"))?;
                    if !chosen.contains(&encoder) {
                        chosen.push(encoder);
                    }
                }
                options.encoders = chosen;
            }
            "--no-match" => options.match_quality = false,
            "-h" | "--help" => return Err(USAGE.into()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ => options.photos.push(arg.into()),
        }
    }
    if options.photos.is_empty() {
        return Err(USAGE.into());
    }
    Ok(options)
}

/// One encoder at the nominal quality on one photo.
struct Nominal {
    bytes: usize,
    score: Option<f64>,
    time: Duration,
}

/// One encoder at the setting that matches mozjpeg-fast's score on one photo.
struct Matched {
    quality: u8,
    bytes: f64,
    reached: bool,
    time: Duration,
}

struct PhotoResult {
    pixels: usize,
    megapixels: f64,
    nominal: Vec<Nominal>,
    /// `None` where no score could be computed (AVIF without avifdec) or matching was skipped.
    matched: Vec<Option<Matched>>,
}

/// Decodes a photo and downsizes it to the derivative's size with Lanczos3 (untimed).
fn load_photo(path: &Path, long_edge: usize) -> Result<Picture, String> {
    let bytes = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let decoded =
        encoders::decode_jpeg(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    let longest = decoded.width.max(decoded.height);
    if longest <= long_edge {
        return Ok(decoded);
    }
    let scale = long_edge as f64 / longest as f64;
    let width = ((decoded.width as f64 * scale).round() as u32).max(1);
    let height = ((decoded.height as f64 * scale).round() as u32).max(1);
    let full = image::RgbImage::from_raw(decoded.width as u32, decoded.height as u32, decoded.rgb)
        .ok_or("decoded size mismatch")?;
    let resized =
        image::imageops::resize(&full, width, height, image::imageops::FilterType::Lanczos3);
    Ok(Picture {
        width: width as usize,
        height: height as usize,
        rgb: resized.into_raw(),
    })
}

/// Median wall time of `reps` encodes (the caller has already run one untimed, as a warm-up).
fn median_encode_time(
    encoder: Encoder,
    source: &Source,
    quality: u8,
    scratch: &Scratch,
    reps: usize,
) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        times.push(encoders::encode(encoder, source, quality, scratch)?.1);
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// Encodes, decodes and scores one setting; `None` score when the output cannot be decoded here.
fn probe(
    encoder: Encoder,
    source: &Source,
    quality: u8,
    reference: &Reference,
    scratch: &Scratch,
) -> Result<(usize, Option<f64>), String> {
    let (bytes, _) = encoders::encode(encoder, source, quality, scratch)?;
    let score = match encoders::decode(encoder, &bytes, scratch)? {
        Some(decoded) => Some(reference.score(&decoded)?),
        None => None,
    };
    Ok((bytes.len(), score))
}

fn run_photo(path: &Path, options: &Options, scratch: &Scratch) -> Result<PhotoResult, String> {
    let picture = load_photo(path, options.long_edge)?;
    eprintln!(
        "{} ({}x{} encoded)",
        path.display(),
        picture.width,
        picture.height
    );
    let source = Source::new(&picture);
    let reference = Reference::new(&picture)?;
    scratch
        .set_photo(&picture)
        .map_err(|error| format!("scratch file: {error}"))?;

    let mut nominal = Vec::new();
    for &encoder in &options.encoders {
        let (bytes, score) = probe(encoder, &source, NOMINAL_QUALITY, &reference, scratch)?;
        let time = median_encode_time(encoder, &source, NOMINAL_QUALITY, scratch, options.reps)?;
        eprintln!(
            "  {:<16} q{NOMINAL_QUALITY}  {bytes:>9} B  SSIMULACRA2 {:>5}  {:>7.1} ms",
            encoder.name(),
            score.map_or("n/a".into(), |score| format!("{score:.1}")),
            time.as_secs_f64() * 1e3
        );
        nominal.push(Nominal { bytes, score, time });
    }

    let target = nominal[0]
        .score
        .ok_or("mozjpeg-fast output could not be scored")?;
    let mut matched = Vec::new();
    for (&encoder, at_nominal) in options.encoders.iter().zip(&nominal) {
        let Some(score) = at_nominal.score.filter(|_| options.match_quality) else {
            matched.push(None);
            continue;
        };
        if encoder == Encoder::MozjpegFast {
            matched.push(Some(Matched {
                quality: NOMINAL_QUALITY,
                bytes: at_nominal.bytes as f64,
                reached: true,
                time: at_nominal.time,
            }));
            continue;
        }
        let known = Probe {
            quality: NOMINAL_QUALITY,
            bytes: at_nominal.bytes,
            score,
        };
        let found = quality::match_score(target, known, |quality| {
            let (bytes, score) = probe(encoder, &source, quality, &reference, scratch)?;
            let score = score.ok_or("output could not be scored")?;
            Ok(Probe {
                quality,
                bytes,
                score,
            })
        })?;
        let time = if found.quality == NOMINAL_QUALITY {
            at_nominal.time
        } else {
            median_encode_time(encoder, &source, found.quality, scratch, options.reps)?
        };
        eprintln!(
            "  {:<16} matches {target:.1} at q{}{}: {:.0} B, {:.1} ms",
            encoder.name(),
            found.quality,
            if found.reached { "" } else { " (not reached)" },
            found.bytes_at_target,
            time.as_secs_f64() * 1e3
        );
        matched.push(Some(Matched {
            quality: found.quality,
            bytes: found.bytes_at_target,
            reached: found.reached,
            time,
        }));
    }

    Ok(PhotoResult {
        pixels: picture.width * picture.height,
        megapixels: picture.megapixels(),
        nominal,
        matched,
    })
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// "mean (min-max)" of the values, with `digits` decimals.
fn mean_and_range(values: &[f64], digits: usize) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.digits$} ({min:.digits$}–{max:.digits$})", mean(values))
}

fn print_tables(options: &Options, photos: &[PhotoResult]) {
    let total_megapixels: f64 = photos.iter().map(|photo| photo.megapixels).sum();
    println!(
        "{} photos, {:.1} MP in all (long edge at most {} px); encode time = median of {} runs, one thread.\n",
        photos.len(),
        total_megapixels,
        options.long_edge,
        options.reps
    );

    println!("**(a) Every encoder at quality {NOMINAL_QUALITY}**\n");
    println!("| encoder | size vs mozjpeg-fast | bits/pixel | SSIMULACRA2 | encode ms/MP |");
    println!("|---|---|---|---|---|");
    for (index, encoder) in options.encoders.iter().enumerate() {
        let ratios: Vec<f64> = photos
            .iter()
            .map(|photo| photo.nominal[index].bytes as f64 / photo.nominal[0].bytes as f64)
            .collect();
        let bits_per_pixel: Vec<f64> = photos
            .iter()
            .map(|photo| photo.nominal[index].bytes as f64 * 8.0 / photo.pixels as f64)
            .collect();
        let scores: Option<Vec<f64>> = photos
            .iter()
            .map(|photo| photo.nominal[index].score)
            .collect();
        let seconds: f64 = photos
            .iter()
            .map(|photo| photo.nominal[index].time.as_secs_f64())
            .sum();
        println!(
            "| {} | {:.2} | {:.2} | {} | {:.0} |",
            encoder.name(),
            mean(&ratios),
            mean(&bits_per_pixel),
            scores.map_or("not scored".into(), |scores| format!(
                "{:.1}",
                mean(&scores)
            )),
            seconds * 1e3 / total_megapixels
        );
    }

    if options.match_quality {
        print_equal_quality_table(options, photos, total_megapixels);
    }
    println!("\nEncoders:\n");
    for encoder in &options.encoders {
        println!("- {}: {}", encoder.name(), encoder.settings());
    }
}

fn print_equal_quality_table(options: &Options, photos: &[PhotoResult], total_megapixels: f64) {
    println!(
        "\n**(b) Size at equal quality**: each encoder's setting searched, per photo, for the \
         SSIMULACRA2 score of mozjpeg-fast at q{NOMINAL_QUALITY} (mean target {:.1}); size \
         interpolated to exactly that score.\n",
        mean(
            &photos
                .iter()
                .filter_map(|photo| photo.nominal[0].score)
                .collect::<Vec<_>>()
        )
    );
    println!("| encoder | size vs mozjpeg-fast, mean (range) | quality setting, mean (range) | encode ms/MP at that setting |");
    println!("|---|---|---|---|");
    for (index, encoder) in options.encoders.iter().enumerate() {
        let found: Option<Vec<&Matched>> = photos
            .iter()
            .map(|photo| photo.matched[index].as_ref())
            .collect();
        let Some(found) = found else {
            println!(
                "| {} | not scored (avifdec not installed) | | |",
                encoder.name()
            );
            continue;
        };
        let ratios: Vec<f64> = found
            .iter()
            .zip(photos)
            .map(|(matched, photo)| matched.bytes / photo.nominal[0].bytes as f64)
            .collect();
        let qualities: Vec<f64> = found.iter().map(|matched| matched.quality as f64).collect();
        let seconds: f64 = found.iter().map(|matched| matched.time.as_secs_f64()).sum();
        let unreached = found.iter().filter(|matched| !matched.reached).count();
        println!(
            "| {} | {}{} | {} | {:.0} |",
            encoder.name(),
            mean_and_range(&ratios, 2),
            if unreached > 0 {
                format!(
                    "; {unreached} of {} under the target even at q100 (q100 size counted)",
                    photos.len()
                )
            } else {
                String::new()
            },
            mean_and_range(&qualities, 0),
            seconds * 1e3 / total_megapixels
        );
    }
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if options.encoders.contains(&Encoder::Avif) && !encoders::avifdec_available() {
        eprintln!(
            "note: avifdec not found (Debian libavif-bin): AVIF sizes and times only, no score"
        );
    }
    let scratch = match Scratch::new() {
        Ok(scratch) => scratch,
        Err(error) => {
            eprintln!("cannot make a scratch folder: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut results = Vec::new();
    for path in &options.photos {
        match run_photo(path, &options, &scratch) {
            Ok(result) => results.push(result),
            Err(message) => {
                eprintln!("{}: {message}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    print_tables(&options, &results);
    ExitCode::SUCCESS
}
