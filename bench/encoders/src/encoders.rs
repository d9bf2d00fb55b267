//! The contenders: each encoder at one quality setting (timed), and a decoder for its output
//! (untimed) so the result can be scored against the source.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An 8-bit sRGB image, rows top to bottom, RGB interleaved.
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Picture {
    pub fn megapixels(&self) -> f64 {
        (self.width * self.height) as f64 / 1e6
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Encoder {
    MozjpegFast,
    MozjpegTrellis,
    ImageCrate,
    JpegEncoderCrate,
    Cjpeg,
    Webp,
    Avif,
}

/// rav1e preset: 6 sits between headshot's `fast` (8) and `small` (4) AVIF efforts.
pub const AVIF_SPEED: u8 = 6;

impl Encoder {
    pub const ALL: [Encoder; 7] = [
        Encoder::MozjpegFast,
        Encoder::MozjpegTrellis,
        Encoder::ImageCrate,
        Encoder::JpegEncoderCrate,
        Encoder::Cjpeg,
        Encoder::Webp,
        Encoder::Avif,
    ];

    /// Short name, used on the command line (`--only`) and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Encoder::MozjpegFast => "mozjpeg-fast",
            Encoder::MozjpegTrellis => "mozjpeg-trellis",
            Encoder::ImageCrate => "image-jpeg",
            Encoder::JpegEncoderCrate => "jpeg-encoder",
            Encoder::Cjpeg => "cjpeg",
            Encoder::Webp => "webp",
            Encoder::Avif => "avif",
        }
    }

    /// What exactly was run, for the table.
    pub fn settings(self) -> String {
        match self {
            Encoder::MozjpegFast => {
                "mozjpeg 0.10 `set_fastest_defaults`, no scan search, progressive, optimized Huffman, 4:2:0 (headshot `fast`)".into()
            }
            Encoder::MozjpegTrellis => {
                "mozjpeg 0.10 defaults (trellis, scan search), progressive, 4:2:0 (headshot `small`)".into()
            }
            Encoder::ImageCrate => "`image` 0.25 JpegEncoder: baseline, standard Huffman tables, 4:4:4 (fixed)".into(),
            Encoder::JpegEncoderCrate => {
                "jpeg-encoder 0.7 (simd): progressive, optimized Huffman, 4:2:0 box-averaged".into()
            }
            Encoder::Cjpeg => format!(
                "`cjpeg -optimize -progressive` ({}), 4:2:0; process time incl. reading a PPM",
                cjpeg_version()
            ),
            Encoder::Webp => "libwebp via `webp` 0.3: lossy, method 4, 4:2:0".into(),
            Encoder::Avif => format!(
                "ravif 0.13: speed {AVIF_SPEED}, 1 thread, 4:4:4, 10-bit{}",
                if cfg!(feature = "fast-avif") {
                    ", rav1e asm"
                } else {
                    ", no asm (as headshot's default build)"
                }
            ),
        }
    }

    pub fn from_name(name: &str) -> Option<Encoder> {
        Encoder::ALL
            .into_iter()
            .find(|encoder| encoder.name() == name)
    }
}

/// Scratch files for the encoders and decoders that are separate programs (cjpeg, avifdec).
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new() -> io::Result<Scratch> {
        let dir =
            std::env::temp_dir().join(format!("headshot-encoder-bench-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Scratch { dir })
    }

    fn source_ppm(&self) -> PathBuf {
        self.dir.join("source.ppm")
    }

    /// Writes the photo as a binary PPM for cjpeg, once per photo and outside the timing.
    pub fn set_photo(&self, picture: &Picture) -> io::Result<()> {
        let mut ppm = format!("P6\n{} {}\n255\n", picture.width, picture.height).into_bytes();
        ppm.extend_from_slice(&picture.rgb);
        fs::write(self.source_ppm(), ppm)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A photo in the layouts the encoders take, made once per photo so no conversion is timed.
pub struct Source<'a> {
    pub picture: &'a Picture,
    pub rgb8: Vec<ravif::RGB8>,
}

impl<'a> Source<'a> {
    pub fn new(picture: &'a Picture) -> Source<'a> {
        let rgb8 = picture
            .rgb
            .chunks_exact(3)
            .map(|pixel| ravif::RGB8::new(pixel[0], pixel[1], pixel[2]))
            .collect();
        Source { picture, rgb8 }
    }
}

/// Encodes `source` at `quality` (1-100, each encoder's own scale); returns the file and the
/// wall time of the encode alone (for cjpeg, of the whole process).
pub fn encode(
    encoder: Encoder,
    source: &Source,
    quality: u8,
    scratch: &Scratch,
) -> Result<(Vec<u8>, Duration), String> {
    let picture = source.picture;
    let (width, height) = (picture.width, picture.height);
    if encoder == Encoder::Cjpeg {
        return run_cjpeg(&scratch.source_ppm(), quality);
    }
    let started = Instant::now();
    let bytes = match encoder {
        Encoder::MozjpegFast | Encoder::MozjpegTrellis => {
            let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
            // As headshot's src/encode.rs: the profile first, since it resets the rest.
            if encoder == Encoder::MozjpegFast {
                compress.set_fastest_defaults();
                compress.set_optimize_scans(false);
            }
            compress.set_size(width, height);
            compress.set_quality(quality as f32);
            compress.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
            compress.set_progressive_mode();
            compress.set_optimize_coding(true);
            let mut started = compress
                .start_compress(Vec::with_capacity(width * height / 4))
                .map_err(|error| error.to_string())?;
            started
                .write_scanlines(&picture.rgb)
                .map_err(|error| error.to_string())?;
            started.finish().map_err(|error| error.to_string())?
        }
        Encoder::ImageCrate => {
            let mut out = Vec::with_capacity(width * height / 4);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
                .encode(
                    &picture.rgb,
                    width as u32,
                    height as u32,
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(|error| error.to_string())?;
            out
        }
        Encoder::JpegEncoderCrate => {
            let mut out = Vec::with_capacity(width * height / 4);
            let mut jpeg = jpeg_encoder::Encoder::new(&mut out, quality);
            jpeg.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
            // The default takes one pixel per 2x2 block, which aliases colour edges.
            jpeg.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
            jpeg.set_progressive(true);
            jpeg.set_optimized_huffman_tables(true);
            jpeg.encode(
                &picture.rgb,
                width as u16,
                height as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|error| error.to_string())?;
            out
        }
        Encoder::Webp => {
            let mut config = webp::WebPConfig::new().map_err(|()| "bad WebP config")?;
            config.lossless = 0;
            config.quality = quality as f32;
            config.method = 4;
            webp::Encoder::from_rgb(&picture.rgb, width as u32, height as u32)
                .encode_advanced(&config)
                .map_err(|error| format!("{error:?}"))?
                .to_vec()
        }
        Encoder::Avif => {
            ravif::Encoder::new()
                .with_quality(quality as f32)
                .with_speed(AVIF_SPEED)
                .with_num_threads(Some(1))
                .encode_rgb(ravif::Img::new(source.rgb8.as_slice(), width, height))
                .map_err(|error| error.to_string())?
                .avif_file
        }
        Encoder::Cjpeg => unreachable!("handled above"),
    };
    Ok((bytes, started.elapsed()))
}

fn run_cjpeg(ppm: &Path, quality: u8) -> Result<(Vec<u8>, Duration), String> {
    let started = Instant::now();
    let output = Command::new("cjpeg")
        .args([
            "-quality",
            &quality.to_string(),
            "-optimize",
            "-progressive",
        ])
        .arg(ppm)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run cjpeg: {error}"))?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(format!("cjpeg failed: {}", output.status));
    }
    Ok((output.stdout, elapsed))
}

pub fn cjpeg_version() -> String {
    Command::new("cjpeg")
        .arg("-version")
        .output()
        .ok()
        .and_then(|output| {
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            text.lines().next().map(|line| {
                // "libjpeg-turbo version 2.1.5 (build 20230203)" -> "libjpeg-turbo 2.1.5"
                line.split(" (")
                    .next()
                    .unwrap_or(line)
                    .replace(" version", "")
            })
        })
        .unwrap_or_else(|| "libjpeg-turbo".into())
}

pub fn avifdec_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("avifdec")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    })
}

/// Decodes a JPEG to RGB with libjpeg-turbo's decoder (mozjpeg's), as browsers do.
pub fn decode_jpeg(bytes: &[u8]) -> Result<Picture, String> {
    std::panic::catch_unwind(|| -> std::io::Result<Picture> {
        let mut decompress = mozjpeg::Decompress::new_mem(bytes)?.rgb()?;
        let (width, height) = (decompress.width(), decompress.height());
        let rgb = decompress.read_scanlines::<u8>()?;
        decompress.finish()?;
        Ok(Picture { width, height, rgb })
    })
    .map_err(|_| "libjpeg error".to_string())?
    .map_err(|error| error.to_string())
}

/// Decodes an encoder's output for scoring; `None` for AVIF when avifdec is not installed.
pub fn decode(
    encoder: Encoder,
    bytes: &[u8],
    scratch: &Scratch,
) -> Result<Option<Picture>, String> {
    match encoder {
        Encoder::Webp => {
            let decoded = webp::Decoder::new(bytes)
                .decode()
                .ok_or("WebP decode failed")?;
            Ok(Some(Picture {
                width: decoded.width() as usize,
                height: decoded.height() as usize,
                rgb: decoded.to_vec(),
            }))
        }
        Encoder::Avif => decode_avif(bytes, scratch),
        _ => decode_jpeg(bytes).map(Some),
    }
}

/// No pure-Rust AV1 decoder builds quickly, so AVIF goes through libavif's avifdec if present.
fn decode_avif(bytes: &[u8], scratch: &Scratch) -> Result<Option<Picture>, String> {
    if !avifdec_available() {
        return Ok(None);
    }
    let avif = scratch.dir.join("out.avif");
    let png = scratch.dir.join("out.png");
    fs::write(&avif, bytes).map_err(|error| error.to_string())?;
    let status = Command::new("avifdec")
        .args(["--depth", "8"])
        .arg(&avif)
        .arg(&png)
        .stdout(Stdio::null())
        .status()
        .map_err(|error| error.to_string())?;
    if !status.success() {
        return Err(format!("avifdec failed: {status}"));
    }
    let decoded = image::open(&png)
        .map_err(|error| error.to_string())?
        .to_rgb8();
    Ok(Some(Picture {
        width: decoded.width() as usize,
        height: decoded.height() as usize,
        rgb: decoded.into_raw(),
    }))
}
