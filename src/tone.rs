//! Tone stage: turns a tone preset (exposure, white balance, contrast, curve, colour, B&W,
//! `.cube` look, vignette, sharpening) into lookup tables once, then grades each photo in one pass.
//!
//! # Order of operations
//!
//! Fixed, like a raw developer's pipeline, so a preset reads the same whatever order its keys
//! are written in:
//!
//! 1. **White balance** — linear-light channel gains (`temperature`/`tint`, or measured per
//!    photo by `grey-world` / `brightest-neutral`). First, because every later step assumes
//!    neutral greys.
//! 2. **Exposure** — linear light × 2^EV, clipped at white. Before the tone sliders so that
//!    they shape the exposed image, as in Lightroom and darktable.
//! 3. **Tone** on display-encoded (sRGB) values: input levels (negative `blacks` crushes,
//!    positive `whites` brightens), then `shadows` / `highlights` (smooth bumps peaking at 1/3
//!    and 2/3), then `contrast` (S-curve around 18 % grey), then output levels (positive
//!    `blacks` lifts a matte black, negative `whites` dims white).
//! 4. **Curve** — the photographer's explicit monotone spline, last among the tonal steps so
//!    it has the final say.
//! 5. **Colour** — `vibrance` and `saturation` as one chroma factor, in linear light around
//!    Rec.709 luminance (luminance is kept; hue is kept by limiting the factor at the gamut
//!    edge). Vibrance favours muted colours and half-protects skin hues.
//! 6. **Black and white** — a linear-light channel mix; after the colour sliders (which then
//!    only matter through the mix) and before the look.
//! 7. **`.cube` look** — on display-encoded values, as colourists build them; after B&W so a
//!    look can tone a monochrome image (sepia, split toning).
//! 8. **Vignette** — a radial linear-light gain on the output, relative to the (cropped)
//!    working image, like a post-crop vignette.
//! 9. **Sharpen** — not in [`CompiledTone::apply`]: an unsharp mask that the caller runs on each
//!    derivative after resizing, via [`CompiledTone::sharpen`].
//!
//! Steps 1–4 act on each channel alone, so they compile into three 256-entry input tables
//! (one per channel, because white-balance gains differ). Steps 5–7 compile into one 3D LUT
//! over the display-encoded output of the tables (33³, or the `.cube` size if larger), read
//! with tetrahedral interpolation. Both are built once per preset; only a measured (auto)
//! white balance rebuilds the 768-entry input tables per photo. The vignette is a radial gain
//! table applied in the same pass, only when its amount is non-zero.
//!
//! # Preset keys (TOML)
//!
//! Every key is optional; a missing key is neutral. Unknown keys are errors.
//!
//! ```toml
//! description = "Bright, clean skin for conference walls"  # one line for `presets list`
//! extends = "neutral"          # resolved by the preset registry, ignored here
//! exposure = 0.3               # EV, -5..=5; +1 doubles linear light
//! contrast = 10                # -100..=100; +100 doubles the mid-tone slope
//! highlights = -20             # -100..=100; < 0 recovers highlights
//! shadows = 15                 # -100..=100; > 0 opens shadows
//! whites = 5                   # -100..=100; > 0 moves the white point in, < 0 dims white
//! blacks = -5                  # -100..=100; < 0 crushes, > 0 lifts a matte black
//! saturation = 0               # -100..=100; -100 is grey
//! vibrance = 10                # -100..=100; muted colours more, skin less
//! curve = [[0, 0], [64, 58], [192, 200], [255, 255]]  # [input, output] pairs, 0..=1 or 0..=255
//! lut = "looks/film.cube"      # 3D .cube, LUT_3D_SIZE 2..=65, relative to this preset's folder
//! face_exposure = 0.55         # target face luminance, 0.2..=0.9 of display white: per-photo EV
//! white_balance = "as-shot"    # or "grey-world" ("auto"), "brightest-neutral",
//!                              # or { temperature = 7200, tint = 5 } (kelvin 3000..=12000, 6500
//!                              # is neutral, higher is warmer; tint -100..=100, > 0 is magenta)
//! black_and_white = true       # or { red = 0.4, green = 0.45, blue = 0.15 } (relative weights)
//! vignette = { amount = -20, midpoint = 50 }         # amount -100..=100 (< 0 darkens corners)
//! sharpen = { amount = 40, radius = 0.8, threshold = 2 }  # percent 0..=300, px 0.3..=5, levels 0..=50
//! ```
//!
//! A curve is read in 0..=255 units as soon as one of its numbers exceeds 1, else in 0..=1.
//! `curve = []` and `lut = ""` mean "none", so a preset that `extends` another can drop them.

use std::borrow::Cow;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use thiserror::Error;

#[cfg(target_arch = "x86_64")]
mod grid_avx2;

/// The built-in tone presets, `(name, TOML text)`, embedded in the binary.
pub const BUILTIN_TONE_PRESETS: &[(&str, &str)] = &[
    ("neutral", include_str!("../presets/tone/neutral.toml")),
    (
        "clean-bright",
        include_str!("../presets/tone/clean-bright.toml"),
    ),
    ("warm", include_str!("../presets/tone/warm.toml")),
    (
        "bw-classic",
        include_str!("../presets/tone/bw-classic.toml"),
    ),
    ("high-key", include_str!("../presets/tone/high-key.toml")),
];

// ---------------------------------------------------------------------------------------------
// Allowed ranges: what a photographer would find sane.

const EXPOSURE_RANGE: RangeInclusive<f32> = -5.0..=5.0;
const SLIDER_RANGE: RangeInclusive<f32> = -100.0..=100.0;
const TEMPERATURE_RANGE: RangeInclusive<f32> = 3000.0..=12000.0;
const CHANNEL_WEIGHT_RANGE: RangeInclusive<f32> = -2.0..=2.0;
const MIDPOINT_RANGE: RangeInclusive<f32> = 0.0..=100.0;
const SHARPEN_AMOUNT_RANGE: RangeInclusive<f32> = 0.0..=300.0;
const SHARPEN_RADIUS_RANGE: RangeInclusive<f32> = 0.3..=5.0;
const SHARPEN_THRESHOLD_RANGE: RangeInclusive<f32> = 0.0..=50.0;
const FACE_EXPOSURE_RANGE: RangeInclusive<f32> = 0.2..=0.9;
/// `face_exposure` corrects a photo by at most this many stops either way: more means the
/// detector measured something that is not a well-lit face.
pub const MAX_FACE_EXPOSURE_EV: f32 = 2.0;
const CURVE_POINT_COUNT: RangeInclusive<usize> = 2..=32;
const CUBE_SIZE_RANGE: RangeInclusive<usize> = 2..=65;

// ---------------------------------------------------------------------------------------------
// Algorithm constants (how the sliders map to maths, not looks: looks live in presets).

/// Kelvin that maps to no white-balance change (D65-ish).
const NEUTRAL_TEMPERATURE: f32 = 6500.0;
/// Green-channel change, in EV, at `tint = ±100`.
const TINT_EV_AT_FULL: f32 = 0.5;
/// How far `blacks` / `whites` at ±100 move a levels end point, in display units.
const LEVELS_SHIFT_AT_FULL: f32 = 0.1;
/// Height factor of the shadows/highlights bumps; below 1 keeps the tone curve monotone.
const RANGE_BUMP_STRENGTH: f32 = 0.9;
/// Display value of 18 % linear grey: the contrast pivot.
const CONTRAST_PIVOT: f32 = 0.4613;
/// Fraction of the vibrance boost withheld from skin hues.
const SKIN_PROTECTION: f32 = 0.5;
/// Corner exposure change, in EV, at `vignette.amount = ±100`.
const VIGNETTE_EV_AT_FULL: f32 = 1.5;
/// Rec.709 / sRGB luminance weights for linear light.
const REC709_LUMA: [f32; 3] = [0.2126, 0.7152, 0.0722];
/// Smallest 3D grid for the colour operations.
const COLOUR_GRID_SIZE: usize = 33;
/// Auto white balance measures about this many pixels.
const WHITE_BALANCE_SAMPLES: f32 = 65_536.0;
/// Auto white balance never changes a channel by more than this factor.
const WHITE_BALANCE_GAIN_LIMIT: f32 = 2.0;

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem with one preset key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted key path, e.g. `white_balance.temperature`.
    pub key: String,
    /// A full sentence naming the key, the value and what is allowed.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a tone preset or a `.cube` file could not be used.
#[derive(Debug, Error)]
pub enum ToneError {
    /// The TOML text does not fit the preset's keys (unknown key, wrong type, bad syntax).
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
    /// Keys with values outside what is allowed.
    #[error("{}", join_field_errors(.0))]
    Invalid(Vec<FieldError>),
    /// The `.cube` file could not be read.
    #[error("cannot read LUT file {}: {io_error}", path.display())]
    LutRead {
        path: PathBuf,
        io_error: std::io::Error,
    },
    /// The `.cube` file is malformed; `line` is 1-based.
    #[error("{}{}: {message}", path.display(), line_suffix(*line))]
    Cube {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

fn join_field_errors(errors: &[FieldError]) -> String {
    let messages: Vec<&str> = errors.iter().map(|error| error.message.as_str()).collect();
    messages.join("; ")
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|line| format!(", line {line}"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The preset, as written in TOML

/// A tone preset as parsed from TOML. Partial files deserialize (missing keys are neutral).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TonePreset {
    /// One line for `headshot presets list`.
    pub description: Option<String>,
    /// Name of the preset this one builds on; resolved by the registry, ignored here.
    pub extends: Option<String>,
    /// EV; linear light is multiplied by 2^exposure.
    pub exposure: f32,
    pub contrast: f32,
    pub highlights: f32,
    pub shadows: f32,
    pub whites: f32,
    pub blacks: f32,
    pub white_balance: WhiteBalance,
    pub saturation: f32,
    pub vibrance: f32,
    /// Control points, 0..=1 or 0..=255; empty means no curve.
    pub curve: Vec<CurvePoint>,
    pub black_and_white: BlackAndWhite,
    /// `.cube` file, relative to the preset's folder; empty means none.
    pub lut: Option<PathBuf>,
    pub vignette: Vignette,
    pub sharpen: Sharpen,
    /// Target face luminance (0..=1 of display white); parsed and checked here, applied by
    /// the face-aware exposure step.
    pub face_exposure: Option<f32>,
}

/// White balance: leave it, correct it by a fixed temperature/tint, or measure it per photo.
///
/// TOML: `"as-shot"`, `"grey-world"` (also `"gray-world"`, `"auto"`), `"brightest-neutral"`,
/// or `{ temperature = 7200, tint = 5 }`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum WhiteBalance {
    #[default]
    AsShot,
    /// Treat the photo as lit by `temperature` kelvin when 6500 K is neutral: higher is warmer.
    /// `tint` > 0 is magenta, < 0 green.
    Manual { temperature: f32, tint: f32 },
    /// Measured on each photo.
    Auto(AutoWhiteBalance),
}

/// How an automatic white balance finds neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoWhiteBalance {
    /// The average of the photo (without clipped and near-black pixels) is grey.
    GreyWorld,
    /// The brightest low-chroma, unclipped pixels are white.
    BrightestNeutral,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ManualWhiteBalance {
    temperature: f32,
    tint: f32,
}

impl Default for ManualWhiteBalance {
    fn default() -> Self {
        ManualWhiteBalance {
            temperature: NEUTRAL_TEMPERATURE,
            tint: 0.0,
        }
    }
}

impl<'de> Deserialize<'de> for WhiteBalance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WhiteBalanceVisitor;

        impl<'de> Visitor<'de> for WhiteBalanceVisitor {
            type Value = WhiteBalance;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"as-shot\", \"grey-world\", \"brightest-neutral\" \
                     or a table { temperature = 5500, tint = 0 }",
                )
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<WhiteBalance, E> {
                match value {
                    "as-shot" => Ok(WhiteBalance::AsShot),
                    "grey-world" | "gray-world" | "auto" => {
                        Ok(WhiteBalance::Auto(AutoWhiteBalance::GreyWorld))
                    }
                    "brightest-neutral" => {
                        Ok(WhiteBalance::Auto(AutoWhiteBalance::BrightestNeutral))
                    }
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WhiteBalance, A::Error> {
                let manual =
                    ManualWhiteBalance::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(WhiteBalance::Manual {
                    temperature: manual.temperature,
                    tint: manual.tint,
                })
            }
        }

        deserializer.deserialize_any(WhiteBalanceVisitor)
    }
}

/// One curve control point. TOML: `[input, output]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    pub input: f32,
    pub output: f32,
}

impl<'de> Deserialize<'de> for CurvePoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CurvePointVisitor;

        impl<'de> Visitor<'de> for CurvePointVisitor {
            type Value = CurvePoint;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a curve point [input, output]")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<CurvePoint, A::Error> {
                let input = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let output = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let mut count = 2;
                while seq.next_element::<de::IgnoredAny>()?.is_some() {
                    count += 1;
                }
                if count != 2 {
                    return Err(de::Error::invalid_length(count, &self));
                }
                Ok(CurvePoint { input, output })
            }
        }

        deserializer.deserialize_seq(CurvePointVisitor)
    }
}

/// Monochrome conversion. TOML: `true`/`false`, or `{ red, green, blue }` weights.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum BlackAndWhite {
    #[default]
    Off,
    Mix(ChannelMix),
}

/// Relative channel weights for black and white, applied to linear light and normalised to
/// sum 1, so a mix changes tonal separation (e.g. skin vs. sky), not overall brightness.
/// Missing weights default to Rec.709 luminance.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelMix {
    pub red: f32,
    pub green: f32,
    pub blue: f32,
}

impl Default for ChannelMix {
    fn default() -> Self {
        ChannelMix {
            red: REC709_LUMA[0],
            green: REC709_LUMA[1],
            blue: REC709_LUMA[2],
        }
    }
}

impl<'de> Deserialize<'de> for BlackAndWhite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlackAndWhiteVisitor;

        impl<'de> Visitor<'de> for BlackAndWhiteVisitor {
            type Value = BlackAndWhite;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a table { red = 0.3, green = 0.6, blue = 0.1 }")
            }

            fn visit_bool<E: de::Error>(self, enabled: bool) -> Result<BlackAndWhite, E> {
                Ok(if enabled {
                    BlackAndWhite::Mix(ChannelMix::default())
                } else {
                    BlackAndWhite::Off
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BlackAndWhite, A::Error> {
                let mix = ChannelMix::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(BlackAndWhite::Mix(mix))
            }
        }

        deserializer.deserialize_any(BlackAndWhiteVisitor)
    }
}

/// Radial darkening (amount < 0) or lightening (> 0) of the corners.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Vignette {
    /// -100..=100; at ±100 the corners change by 1.5 EV.
    pub amount: f32,
    /// 0..=100: where the falloff starts, as a percentage of the centre-to-corner distance.
    pub midpoint: f32,
}

impl Default for Vignette {
    fn default() -> Self {
        Vignette {
            amount: 0.0,
            midpoint: 50.0,
        }
    }
}

/// Output sharpening (unsharp mask on luma), run per derivative after resizing.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sharpen {
    /// Percent of the detail added back, 0..=300; 0 is off.
    pub amount: f32,
    /// Gaussian sigma in derivative pixels.
    pub radius: f32,
    /// Detail smaller than this many 8-bit levels is left alone (keeps skin and noise smooth).
    pub threshold: f32,
}

impl Default for Sharpen {
    fn default() -> Self {
        Sharpen {
            amount: 0.0,
            radius: 1.0,
            threshold: 0.0,
        }
    }
}

impl TonePreset {
    /// Parses one TOML document (no `extends` resolution, no range checks).
    pub fn from_toml_str(text: &str) -> Result<Self, ToneError> {
        Ok(toml::from_str(text)?)
    }

    /// Checks every value against what is allowed; all problems at once.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = RangeCheck::default();
        check.range("exposure", self.exposure, EXPOSURE_RANGE, " EV");
        for (key, value) in [
            ("contrast", self.contrast),
            ("highlights", self.highlights),
            ("shadows", self.shadows),
            ("whites", self.whites),
            ("blacks", self.blacks),
            ("saturation", self.saturation),
            ("vibrance", self.vibrance),
        ] {
            check.range(key, value, SLIDER_RANGE, "");
        }
        if let WhiteBalance::Manual { temperature, tint } = self.white_balance {
            check.range(
                "white_balance.temperature",
                temperature,
                TEMPERATURE_RANGE,
                " K",
            );
            check.range("white_balance.tint", tint, SLIDER_RANGE, "");
        }
        check.curve(&self.curve);
        if let BlackAndWhite::Mix(mix) = self.black_and_white {
            check.range("black_and_white.red", mix.red, CHANNEL_WEIGHT_RANGE, "");
            check.range("black_and_white.green", mix.green, CHANNEL_WEIGHT_RANGE, "");
            check.range("black_and_white.blue", mix.blue, CHANNEL_WEIGHT_RANGE, "");
            let sum = mix.red + mix.green + mix.blue;
            if sum.is_finite() && sum < 0.1 {
                check.fail(
                    "black_and_white",
                    format!(
                        "black_and_white weights add up to {sum}; they must add up to at least \
                         0.1 (they are relative, e.g. red = 0.4, green = 0.45, blue = 0.15)"
                    ),
                );
            }
        }
        if let Some(lut) = self.lut_path() {
            let is_cube = lut
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("cube"));
            if !is_cube {
                check.fail(
                    "lut",
                    format!(
                        "lut = \"{}\" is not a .cube file; allowed: a 3D LUT in Adobe/Resolve \
                         .cube format",
                        lut.display()
                    ),
                );
            }
        }
        check.range("vignette.amount", self.vignette.amount, SLIDER_RANGE, "");
        check.range(
            "vignette.midpoint",
            self.vignette.midpoint,
            MIDPOINT_RANGE,
            " %",
        );
        check.range(
            "sharpen.amount",
            self.sharpen.amount,
            SHARPEN_AMOUNT_RANGE,
            " %",
        );
        check.range(
            "sharpen.radius",
            self.sharpen.radius,
            SHARPEN_RADIUS_RANGE,
            " px",
        );
        check.range(
            "sharpen.threshold",
            self.sharpen.threshold,
            SHARPEN_THRESHOLD_RANGE,
            " levels",
        );
        if let Some(target) = self.face_exposure {
            check.range("face_exposure", target, FACE_EXPOSURE_RANGE, "");
        }
        check.finish()
    }

    /// The `.cube` path as written, `None` when unset or empty.
    pub fn lut_path(&self) -> Option<&Path> {
        self.lut
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty())
    }
}

#[derive(Default)]
struct RangeCheck {
    errors: Vec<FieldError>,
}

impl RangeCheck {
    fn fail(&mut self, key: &str, message: String) {
        self.errors.push(FieldError {
            key: key.to_owned(),
            message,
        });
    }

    fn range(&mut self, key: &str, value: f32, allowed: RangeInclusive<f32>, unit: &str) {
        if !allowed.contains(&value) {
            self.fail(
                key,
                format!(
                    "{key} = {value} is out of range; allowed {}..={}{unit}",
                    allowed.start(),
                    allowed.end()
                ),
            );
        }
    }

    fn curve(&mut self, points: &[CurvePoint]) {
        if points.is_empty() {
            return;
        }
        if !CURVE_POINT_COUNT.contains(&points.len()) {
            self.fail(
                "curve",
                format!(
                    "curve has {} point(s); allowed {}..={} [input, output] points (or [] for none)",
                    points.len(),
                    CURVE_POINT_COUNT.start(),
                    CURVE_POINT_COUNT.end()
                ),
            );
            return;
        }
        for (index, CurvePoint { input, output }) in points.iter().enumerate() {
            if !(0.0..=255.0).contains(input) || !(0.0..=255.0).contains(output) {
                self.fail(
                    "curve",
                    format!(
                        "curve point {} [{input}, {output}] is out of range; allowed 0..=1 \
                         or 0..=255",
                        index + 1
                    ),
                );
                return;
            }
        }
        for (index, pair) in points.windows(2).enumerate() {
            if pair[1].input <= pair[0].input {
                self.fail(
                    "curve",
                    format!(
                        "curve point {} has input {} which is not above the previous input {}; \
                         inputs must increase",
                        index + 2,
                        pair[1].input,
                        pair[0].input
                    ),
                );
                return;
            }
        }
    }

    fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sRGB transfer

fn srgb_to_linear(encoded: f32) -> f32 {
    if encoded <= 0.04045 {
        encoded / 12.92
    } else {
        ((encoded + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(linear: f32) -> f32 {
    if linear <= 0.003_130_8 {
        linear * 12.92
    } else {
        1.055 * linear.powf(1.0 / 2.4) - 0.055
    }
}

fn luminance(linear: [f32; 3]) -> f32 {
    REC709_LUMA[0] * linear[0] + REC709_LUMA[1] * linear[1] + REC709_LUMA[2] * linear[2]
}

/// Linear value of each 8-bit sRGB code.
fn byte_to_linear_table() -> [f32; 256] {
    let mut table = [0.0; 256];
    for (code, linear) in table.iter_mut().enumerate() {
        *linear = srgb_to_linear(code as f32 / 255.0);
    }
    table
}

fn to_byte(unit: f32) -> u8 {
    (unit.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

// ---------------------------------------------------------------------------------------------
// White balance gains

/// Linear sRGB of a Planckian light at `kelvin` (Kim et al. cubic approximation), with Y = 1.
fn planckian_linear_srgb(kelvin: f32) -> [f32; 3] {
    let t = f64::from(kelvin.clamp(1667.0, 25000.0));
    let x = if t <= 4000.0 {
        -0.266_123_9e9 / t.powi(3) - 0.234_358_9e6 / t.powi(2) + 0.877_695_6e3 / t + 0.179_910
    } else {
        -3.025_846_9e9 / t.powi(3) + 2.107_037_9e6 / t.powi(2) + 0.222_634_7e3 / t + 0.240_390
    };
    let y = if t <= 2222.0 {
        -1.106_381_4 * x.powi(3) - 1.348_110_20 * x.powi(2) + 2.185_558_32 * x - 0.202_196_83
    } else if t <= 4000.0 {
        -0.954_947_6 * x.powi(3) - 1.374_185_93 * x.powi(2) + 2.091_370_15 * x - 0.167_488_67
    } else {
        3.081_758_0 * x.powi(3) - 5.873_386_70 * x.powi(2) + 3.751_129_97 * x - 0.370_014_83
    };
    let (big_x, big_y, big_z) = (x / y, 1.0, (1.0 - x - y) / y);
    let red = 3.240_454_2 * big_x - 1.537_138_5 * big_y - 0.498_531_4 * big_z;
    let green = -0.969_266_0 * big_x + 1.876_010_8 * big_y + 0.041_556_0 * big_z;
    let blue = 0.055_643_4 * big_x - 0.204_025_9 * big_y + 1.057_225_2 * big_z;
    [red as f32, green as f32, blue as f32].map(|channel| channel.max(1e-3))
}

/// Scales gains so a neutral grey keeps its luminance.
fn keep_luminance(gains: [f32; 3]) -> [f32; 3] {
    let scale = luminance(gains);
    gains.map(|gain| gain / scale)
}

/// Linear channel gains for a fixed temperature and tint relative to 6500 K.
fn temperature_tint_gains(temperature: f32, tint: f32) -> [f32; 3] {
    let reference = planckian_linear_srgb(NEUTRAL_TEMPERATURE);
    let light = planckian_linear_srgb(temperature);
    // A bluer light (higher kelvin) is corrected by warmer gains, as in raw developers.
    let mut gains = [
        reference[0] / light[0],
        reference[1] / light[1],
        reference[2] / light[2],
    ];
    gains[1] *= (-tint / 100.0 * TINT_EV_AT_FULL).exp2();
    keep_luminance(gains)
}

/// Gains that turn `reference` (linear RGB of something that should be neutral) grey.
fn gains_neutralising(reference: [f32; 3]) -> [f32; 3] {
    if reference.iter().any(|channel| *channel <= 1e-4) {
        return [1.0; 3];
    }
    let gains = reference.map(|channel| 1.0 / channel);
    keep_luminance(gains)
        .map(|gain| gain.clamp(1.0 / WHITE_BALANCE_GAIN_LIMIT, WHITE_BALANCE_GAIN_LIMIT))
}

/// Measures the white balance gains of `image` on a subsample of about 65k pixels.
fn measure_white_balance(image: &RgbImage, method: AutoWhiteBalance) -> [f32; 3] {
    const CLIPPED: u8 = 250;
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width == 0 || height == 0 {
        return [1.0; 3];
    }
    let step = (((width * height) as f32 / WHITE_BALANCE_SAMPLES).sqrt() as usize).max(1);
    let to_linear = byte_to_linear_table();
    let samples = (0..height).step_by(step).flat_map(|y| {
        (0..width)
            .step_by(step)
            .map(move |x| image.get_pixel(x as u32, y as u32).0)
    });
    match method {
        AutoWhiteBalance::GreyWorld => {
            let mut sum = [0.0f64; 3];
            for pixel in samples {
                let brightest = pixel.iter().copied().max().unwrap_or(0);
                if !(12..CLIPPED).contains(&brightest) {
                    continue;
                }
                for (total, code) in sum.iter_mut().zip(pixel) {
                    *total += f64::from(to_linear[code as usize]);
                }
            }
            gains_neutralising(sum.map(|total| total as f32))
        }
        AutoWhiteBalance::BrightestNeutral => {
            const MAX_CHROMA: f32 = 0.3;
            const MIN_CANDIDATES: usize = 16;
            let mut candidates: Vec<(f32, [f32; 3])> = samples
                .filter_map(|pixel| {
                    let brightest = *pixel.iter().max()?;
                    let darkest = *pixel.iter().min()?;
                    let chroma = f32::from(brightest - darkest) / f32::from(brightest.max(1));
                    if !(25..CLIPPED).contains(&brightest) || chroma > MAX_CHROMA {
                        return None;
                    }
                    let linear = pixel.map(|code| to_linear[code as usize]);
                    Some((luminance(linear), linear))
                })
                .collect();
            let brightest_count = (candidates.len() / 20).max(MIN_CANDIDATES);
            if candidates.len() < brightest_count {
                return [1.0; 3];
            }
            candidates.select_nth_unstable_by(brightest_count - 1, |a, b| b.0.total_cmp(&a.0));
            let mut sum = [0.0f32; 3];
            for (_, linear) in &candidates[..brightest_count] {
                for (total, channel) in sum.iter_mut().zip(linear) {
                    *total += channel;
                }
            }
            gains_neutralising(sum)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tone: per-channel steps 2–4

/// A monotone cubic (Fritsch–Carlson) through the preset's control points, in 0..=1.
#[derive(Debug, Clone)]
struct MonotoneSpline {
    inputs: Vec<f32>,
    outputs: Vec<f32>,
    slopes: Vec<f32>,
}

impl MonotoneSpline {
    /// Expects a validated curve (2+ points, increasing inputs).
    fn new(points: &[CurvePoint]) -> Self {
        let scale = if points
            .iter()
            .any(|point| point.input > 1.0 || point.output > 1.0)
        {
            255.0
        } else {
            1.0
        };
        let inputs: Vec<f32> = points.iter().map(|point| point.input / scale).collect();
        let outputs: Vec<f32> = points.iter().map(|point| point.output / scale).collect();
        let count = inputs.len();
        let secants: Vec<f32> = (0..count - 1)
            .map(|k| (outputs[k + 1] - outputs[k]) / (inputs[k + 1] - inputs[k]))
            .collect();
        let mut slopes = vec![0.0; count];
        slopes[0] = secants[0];
        slopes[count - 1] = secants[count - 2];
        for k in 1..count - 1 {
            slopes[k] = if secants[k - 1] * secants[k] <= 0.0 {
                0.0
            } else {
                (secants[k - 1] + secants[k]) / 2.0
            };
        }
        for (k, secant) in secants.iter().enumerate() {
            if *secant == 0.0 {
                slopes[k] = 0.0;
                slopes[k + 1] = 0.0;
                continue;
            }
            let alpha = slopes[k] / secant;
            let beta = slopes[k + 1] / secant;
            let length = alpha.hypot(beta);
            if length > 3.0 {
                slopes[k] = 3.0 / length * alpha * secant;
                slopes[k + 1] = 3.0 / length * beta * secant;
            }
        }
        MonotoneSpline {
            inputs,
            outputs,
            slopes,
        }
    }

    fn is_identity(&self) -> bool {
        self.inputs
            .iter()
            .zip(&self.outputs)
            .all(|(input, output)| (input - output).abs() < 1e-6)
            && self.slopes.iter().all(|slope| (slope - 1.0).abs() < 1e-6)
    }

    fn eval(&self, x: f32) -> f32 {
        let last = self.inputs.len() - 1;
        if x <= self.inputs[0] {
            return self.outputs[0];
        }
        if x >= self.inputs[last] {
            return self.outputs[last];
        }
        let k = self.inputs.partition_point(|input| *input <= x) - 1;
        let width = self.inputs[k + 1] - self.inputs[k];
        let t = (x - self.inputs[k]) / width;
        let (t2, t3) = (t * t, t * t * t);
        (2.0 * t3 - 3.0 * t2 + 1.0) * self.outputs[k]
            + (t3 - 2.0 * t2 + t) * width * self.slopes[k]
            + (-2.0 * t3 + 3.0 * t2) * self.outputs[k + 1]
            + (t3 - t2) * width * self.slopes[k + 1]
    }
}

/// Exposure, tone sliders and curve: one function applied to each channel alone.
#[derive(Debug, Clone)]
struct ToneShape {
    exposure_gain: f32,
    black_in: f32,
    white_in: f32,
    shadows: f32,
    highlights: f32,
    contrast_gamma: f32,
    black_out: f32,
    white_out: f32,
    curve: Option<MonotoneSpline>,
}

impl ToneShape {
    fn new(preset: &TonePreset) -> Self {
        let blacks = preset.blacks / 100.0;
        let whites = preset.whites / 100.0;
        let curve = (!preset.curve.is_empty())
            .then(|| MonotoneSpline::new(&preset.curve))
            .filter(|spline| !spline.is_identity());
        ToneShape {
            exposure_gain: preset.exposure.exp2(),
            black_in: (-blacks).max(0.0) * LEVELS_SHIFT_AT_FULL,
            white_in: 1.0 - whites.max(0.0) * LEVELS_SHIFT_AT_FULL,
            shadows: preset.shadows / 100.0 * RANGE_BUMP_STRENGTH,
            highlights: preset.highlights / 100.0 * RANGE_BUMP_STRENGTH,
            contrast_gamma: (preset.contrast / 100.0).exp2(),
            black_out: blacks.max(0.0) * LEVELS_SHIFT_AT_FULL,
            white_out: 1.0 - (-whites).max(0.0) * LEVELS_SHIFT_AT_FULL,
            curve,
        }
    }

    /// Maps a white-balanced linear channel value to the display-encoded result of steps 2–4.
    fn map(&self, linear: f32) -> f32 {
        let exposed = (linear * self.exposure_gain).clamp(0.0, 1.0);
        let mut value = linear_to_srgb(exposed);
        value = ((value - self.black_in) / (self.white_in - self.black_in)).clamp(0.0, 1.0);
        let shade = 1.0 - value;
        value += self.shadows * value * shade * shade;
        value += self.highlights * value * value * shade;
        value = if value < CONTRAST_PIVOT {
            CONTRAST_PIVOT * (value / CONTRAST_PIVOT).powf(self.contrast_gamma)
        } else {
            1.0 - (1.0 - CONTRAST_PIVOT)
                * ((1.0 - value) / (1.0 - CONTRAST_PIVOT)).powf(self.contrast_gamma)
        };
        value = self.black_out + value * (self.white_out - self.black_out);
        if let Some(curve) = &self.curve {
            value = curve.eval(value);
        }
        value.clamp(0.0, 1.0)
    }
}

/// Where one channel's input code lands in the colour grid: node offset and fraction.
#[derive(Debug, Clone, Copy, Default)]
struct GridCoord {
    offset: u32,
    fraction: u16,
}

const FRACTION_BITS: u32 = 12;
const FRACTION_ONE: f32 = (1 << FRACTION_BITS) as f32;
/// Grid node values are display values × 255 × 4 (8.2 fixed point of an 8-bit code), three
/// 10-bit channels to a u32 so that one load (or one vector gather) fetches a node.
const NODE_ONE: f32 = 1020.0;
const NODE_CHANNEL_BITS: u32 = 10;
const NODE_CHANNEL_MASK: u32 = (1 << NODE_CHANNEL_BITS) - 1;
/// Fraction bits of a node value below the 8-bit code.
const NODE_SUBCODE_BITS: u32 = 2;

/// Per-channel input tables: straight to output bytes, or to colour-grid coordinates.
#[derive(Clone)]
enum InputTables {
    Bytes(Box<[[u8; 256]; 3]>),
    Grid(Box<[[GridCoord; 256]; 3]>),
}

impl InputTables {
    fn build(shape: &ToneShape, gains: [f32; 3], grid: Option<&ColourLut>) -> Self {
        let to_linear = byte_to_linear_table();
        let channel_value =
            |channel: usize, code: usize| shape.map(to_linear[code] * gains[channel]);
        match grid {
            None => {
                let mut tables = Box::new([[0u8; 256]; 3]);
                for (channel, table) in tables.iter_mut().enumerate() {
                    for (code, entry) in table.iter_mut().enumerate() {
                        *entry = to_byte(channel_value(channel, code));
                    }
                }
                InputTables::Bytes(tables)
            }
            Some(grid) => {
                let size = grid.size;
                let strides = [size * size, size, 1];
                let mut tables = Box::new([[GridCoord::default(); 256]; 3]);
                for (channel, table) in tables.iter_mut().enumerate() {
                    for (code, entry) in table.iter_mut().enumerate() {
                        let position = channel_value(channel, code) * (size - 1) as f32;
                        let node = (position.floor() as usize).min(size - 2);
                        let fraction = ((position - node as f32) * FRACTION_ONE).round();
                        *entry = GridCoord {
                            offset: (node * strides[channel]) as u32,
                            fraction: fraction.clamp(0.0, FRACTION_ONE) as u16,
                        };
                    }
                }
                InputTables::Grid(tables)
            }
        }
    }

    fn is_identity(&self) -> bool {
        match self {
            InputTables::Bytes(tables) => tables.iter().all(|table| {
                table
                    .iter()
                    .enumerate()
                    .all(|(code, out)| *out as usize == code)
            }),
            InputTables::Grid(_) => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Colour: steps 5–7 in one 3D LUT

/// The colour operations of a preset, evaluated at grid nodes.
struct ColourOps {
    saturation: f32,
    vibrance: f32,
    mono_weights: Option<[f32; 3]>,
    look: Option<Lut3d>,
}

impl ColourOps {
    fn new(preset: &TonePreset, look: Option<Lut3d>) -> Option<Self> {
        let mono_weights = match preset.black_and_white {
            BlackAndWhite::Off => None,
            BlackAndWhite::Mix(mix) => {
                let sum = mix.red + mix.green + mix.blue;
                Some([mix.red / sum, mix.green / sum, mix.blue / sum])
            }
        };
        let needed = preset.saturation != 0.0
            || preset.vibrance != 0.0
            || mono_weights.is_some()
            || look.is_some();
        needed.then_some(ColourOps {
            saturation: preset.saturation / 100.0,
            vibrance: preset.vibrance / 100.0,
            mono_weights,
            look,
        })
    }

    fn map(&self, encoded: [f32; 3]) -> [f32; 3] {
        let mut linear = encoded.map(srgb_to_linear);
        if self.saturation != 0.0 || self.vibrance != 0.0 {
            linear = self.saturate(linear, encoded);
        }
        if let Some(weights) = self.mono_weights {
            let grey = (weights[0] * linear[0] + weights[1] * linear[1] + weights[2] * linear[2])
                .clamp(0.0, 1.0);
            linear = [grey; 3];
        }
        let mut output = linear.map(linear_to_srgb);
        if let Some(look) = &self.look {
            output = look.sample(output);
        }
        output.map(|channel| channel.clamp(0.0, 1.0))
    }

    fn saturate(&self, linear: [f32; 3], encoded: [f32; 3]) -> [f32; 3] {
        let luma = luminance(linear);
        let brightest = encoded[0].max(encoded[1]).max(encoded[2]);
        let darkest = encoded[0].min(encoded[1]).min(encoded[2]);
        let hsv_saturation = if brightest > 0.0 {
            (brightest - darkest) / brightest
        } else {
            0.0
        };
        let skin = skin_likeness(encoded);
        let vibrance_factor =
            1.0 + self.vibrance * (1.0 - hsv_saturation) * (1.0 - SKIN_PROTECTION * skin);
        let mut factor = ((1.0 + self.saturation) * vibrance_factor).max(0.0);
        // Keep hue and luminance: stop boosting where a channel would leave 0..=1.
        if factor > 1.0 {
            for channel in linear {
                let offset = channel - luma;
                if offset > 1e-6 {
                    factor = factor.min((1.0 - luma) / offset);
                } else if offset < -1e-6 {
                    factor = factor.min(luma / -offset);
                }
            }
            factor = factor.max(1.0);
        }
        linear.map(|channel| (luma + (channel - luma) * factor).clamp(0.0, 1.0))
    }
}

/// 1 for typical skin hues (orange-red, around 25°), falling to 0 by ±35°.
fn skin_likeness(encoded: [f32; 3]) -> f32 {
    let [red, green, blue] = encoded;
    let brightest = red.max(green).max(blue);
    let chroma = brightest - red.min(green).min(blue);
    if chroma <= 1e-6 {
        return 0.0;
    }
    let sector = if brightest == red {
        ((green - blue) / chroma).rem_euclid(6.0)
    } else if brightest == green {
        (blue - red) / chroma + 2.0
    } else {
        (red - green) / chroma + 4.0
    };
    let hue_degrees = sector * 60.0;
    let distance = (hue_degrees - 25.0).abs();
    let distance = distance.min(360.0 - distance);
    (1.0 - (distance / 35.0).powi(2)).max(0.0)
}

/// The compiled colour grid: `size³` packed nodes (see [`NODE_ONE`]), red slowest, blue fastest.
struct ColourLut {
    size: usize,
    nodes: Vec<u32>,
}

impl ColourLut {
    fn build(size: usize, operations: &ColourOps) -> Self {
        let step = 1.0 / (size - 1) as f32;
        let mut nodes = Vec::with_capacity(size * size * size);
        for red in 0..size {
            for green in 0..size {
                for blue in 0..size {
                    let encoded = [red as f32 * step, green as f32 * step, blue as f32 * step];
                    let output = operations.map(encoded);
                    let [r, g, b] = output.map(|channel| (channel * NODE_ONE).round() as u32);
                    nodes.push(r | g << NODE_CHANNEL_BITS | b << (2 * NODE_CHANNEL_BITS));
                }
            }
        }
        ColourLut { size, nodes }
    }

    /// Maps one row of pixels through the input tables and the grid (tetrahedral interpolation),
    /// eight pixels at a time where the CPU has AVX2 (same bytes, about 3x faster).
    fn map_row(&self, row: &mut [u8], tables: &[[GridCoord; 256]; 3]) {
        #[cfg(target_arch = "x86_64")]
        let row = {
            let mapped = grid_avx2::map_row(self, row, tables);
            &mut row[mapped * 3..]
        };
        self.map_row_scalar(row, tables);
    }

    fn map_row_scalar(&self, row: &mut [u8], tables: &[[GridCoord; 256]; 3]) {
        let red_step = self.size * self.size;
        let green_step = self.size;
        let blue_step = 1;
        let far_corner = red_step + green_step + blue_step;
        let nodes = &self.nodes[..];
        for pixel in row.chunks_exact_mut(3) {
            let red = tables[0][pixel[0] as usize];
            let green = tables[1][pixel[1] as usize];
            let blue = tables[2][pixel[2] as usize];
            let base = (red.offset + green.offset + blue.offset) as usize;
            let (fr, fg, fb) = (
                i32::from(red.fraction),
                i32::from(green.fraction),
                i32::from(blue.fraction),
            );
            // Pick the tetrahedron holding the point: walk the axes by decreasing fraction.
            let (first_corner, second_corner, w1, w2, w3) = if fr >= fg {
                if fg >= fb {
                    (red_step, red_step + green_step, fr, fg, fb)
                } else if fr >= fb {
                    (red_step, red_step + blue_step, fr, fb, fg)
                } else {
                    (blue_step, red_step + blue_step, fb, fr, fg)
                }
            } else if fb >= fg {
                (blue_step, green_step + blue_step, fb, fg, fr)
            } else if fb >= fr {
                (green_step, green_step + blue_step, fg, fb, fr)
            } else {
                (green_step, red_step + green_step, fg, fr, fb)
            };
            let c0 = nodes[base];
            let c1 = nodes[base + first_corner];
            let c2 = nodes[base + second_corner];
            let c3 = nodes[base + far_corner];
            for (channel, value_out) in pixel.iter_mut().enumerate() {
                let shift = channel as u32 * NODE_CHANNEL_BITS;
                let unpack = |node: u32| ((node >> shift) & NODE_CHANNEL_MASK) as i32;
                let (v0, v1, v2, v3) = (unpack(c0), unpack(c1), unpack(c2), unpack(c3));
                let blend = w1 * (v1 - v0) + w2 * (v2 - v1) + w3 * (v3 - v2);
                // A convex blend of nodes in 0..=NODE_ONE stays there, so the byte cannot wrap.
                let value = v0 + ((blend + (1 << (FRACTION_BITS - 1))) >> FRACTION_BITS);
                *value_out = ((value + (1 << (NODE_SUBCODE_BITS - 1))) >> NODE_SUBCODE_BITS) as u8;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vignette: step 8

const RADIAL_STEPS: usize = 1024;
const RADIAL_FRACTION_BITS: u32 = 16;
const GAIN_LEVELS: usize = 256;

/// Radial gain: squared radius -> gain level -> per-code table, in linear light.
struct VignettePlan {
    level_by_radius: Vec<u8>,
    code_by_level: Vec<[u8; 256]>,
}

impl VignettePlan {
    fn new(vignette: &Vignette) -> Option<Self> {
        if vignette.amount == 0.0 {
            return None;
        }
        let corner_ev = vignette.amount / 100.0 * VIGNETTE_EV_AT_FULL;
        let (lowest_gain, highest_gain) = if corner_ev < 0.0 {
            (corner_ev.exp2(), 1.0)
        } else {
            (1.0, corner_ev.exp2())
        };
        let start = vignette.midpoint / 100.0;
        let level_by_radius = (0..RADIAL_STEPS)
            .map(|step| {
                let radius = (step as f32 / (RADIAL_STEPS - 1) as f32).sqrt();
                let falloff = smoothstep(start, 1.0, radius);
                let gain = (corner_ev * falloff).exp2();
                let level = (gain - lowest_gain) / (highest_gain - lowest_gain);
                (level * (GAIN_LEVELS - 1) as f32).round() as u8
            })
            .collect();
        let to_linear = byte_to_linear_table();
        let code_by_level = (0..GAIN_LEVELS)
            .map(|level| {
                let gain = lowest_gain
                    + (highest_gain - lowest_gain) * level as f32 / (GAIN_LEVELS - 1) as f32;
                let mut table = [0u8; 256];
                for (code, out) in table.iter_mut().enumerate() {
                    *out = to_byte(linear_to_srgb((to_linear[code] * gain).min(1.0)));
                }
                table
            })
            .collect();
        Some(VignettePlan {
            level_by_radius,
            code_by_level,
        })
    }

    /// Squared normalised distance from the centre along one axis, in radial steps with
    /// `RADIAL_FRACTION_BITS` fractional bits (the corner is the last step once both axes add).
    fn axis_terms(length: u32) -> Vec<u32> {
        let half = length as f32 / 2.0;
        let scale = ((RADIAL_STEPS - 1) << RADIAL_FRACTION_BITS) as f32 / 2.0;
        (0..length)
            .map(|position| {
                let normalised = (position as f32 + 0.5 - half) / half;
                (normalised * normalised * scale) as u32
            })
            .collect()
    }

    fn apply_row(&self, row: &mut [u8], column_terms: &[u32], row_term: u32) {
        for (pixel, column_term) in row.chunks_exact_mut(3).zip(column_terms) {
            let step =
                (((column_term + row_term) >> RADIAL_FRACTION_BITS) as usize).min(RADIAL_STEPS - 1);
            let table = &self.code_by_level[self.level_by_radius[step] as usize];
            for value in pixel.iter_mut() {
                *value = table[*value as usize];
            }
        }
    }
}

fn smoothstep(edge_start: f32, edge_end: f32, x: f32) -> f32 {
    if edge_end <= edge_start {
        return if x >= edge_end { 1.0 } else { 0.0 };
    }
    let t = ((x - edge_start) / (edge_end - edge_start)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

// ---------------------------------------------------------------------------------------------
// Sharpen: step 9, per derivative

struct SharpenPlan {
    amount: f32,
    threshold: f32,
    kernel: Vec<f32>,
}

impl SharpenPlan {
    fn new(sharpen: &Sharpen) -> Option<Self> {
        if sharpen.amount == 0.0 {
            return None;
        }
        let reach = (sharpen.radius * 3.0).ceil() as i32;
        let mut kernel: Vec<f32> = (-reach..=reach)
            .map(|offset| {
                let distance = offset as f32 / sharpen.radius;
                (-0.5 * distance * distance).exp()
            })
            .collect();
        let total: f32 = kernel.iter().sum();
        kernel.iter_mut().for_each(|weight| *weight /= total);
        Some(SharpenPlan {
            amount: sharpen.amount / 100.0,
            threshold: sharpen.threshold,
            kernel,
        })
    }

    /// Unsharp mask on luma. One full-size plane (the horizontal blur, kept per worker thread:
    /// fresh memory faults in page by page); the vertical blur is made a row at a time and
    /// applied at once, so the derivative is read twice and written once.
    fn apply(&self, image: &mut RgbImage) {
        let (width, height) = (image.width() as usize, image.height() as usize);
        if width == 0 || height == 0 {
            return;
        }
        SHARPEN_PLANE.with(|plane| {
            let mut horizontal = plane.borrow_mut();
            self.horizontal_blur(image, width, &mut horizontal);
            self.add_detail(image, &horizontal);
            if horizontal.capacity() > LARGEST_KEPT_PLANE {
                *horizontal = Vec::new();
            }
        });
    }

    /// The vertical blur row by row, and each row's detail added back.
    fn add_detail(&self, image: &mut RgbImage, horizontal: &[f32]) {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let reach = self.kernel.len() / 2;
        let pixels: &mut [u8] = image;
        // Sequential: photos already run one per core, and a nested parallel loop would let a
        // waiting worker start another photo (more photos in flight, more memory).
        let mut blurred_row = vec![0.0f32; width];
        let mut deltas = vec![0i16; width * 3];
        for (y, row) in pixels.chunks_mut(width * 3).enumerate() {
            blurred_row.fill(0.0);
            for (tap, weight) in self.kernel.iter().enumerate() {
                let source_y = clamped(y as isize + tap as isize - reach as isize, height);
                let source_row = &horizontal[source_y * width..(source_y + 1) * width];
                for (out, source) in blurred_row.iter_mut().zip(source_row) {
                    *out += weight * source;
                }
            }
            self.row_deltas(row, &blurred_row, &mut deltas);
            // One delta per byte: a flat add-and-saturate loop, which vectorises.
            for (value, &delta) in row.iter_mut().zip(&deltas) {
                *value = (i16::from(*value) + delta).clamp(0, 255) as u8;
            }
        }
    }

    /// Each pixel's change, rounded, for each of its three bytes: `amount` times its luma's
    /// detail, none under `threshold`.
    fn row_deltas(&self, row: &[u8], blurred: &[f32], deltas: &mut [i16]) {
        let pixels = row.chunks_exact(3).zip(blurred);
        for (delta, (pixel, blurred)) in deltas.chunks_exact_mut(3).zip(pixels) {
            let detail = luma(pixel) - blurred;
            let change = if detail.abs() < self.threshold {
                0.0
            } else {
                self.amount * detail
            };
            // floor(change + 0.5) without a libm call: `as` truncates towards zero, so shift
            // into the positives first (|change| is at most 255 * amount, far below 4096).
            delta.fill(((change + 4096.5) as i32 - 4096) as i16);
        }
    }

    /// The horizontal half of the separable Gaussian, on luma, edges clamped, into `horizontal`.
    fn horizontal_blur(&self, image: &RgbImage, width: usize, horizontal: &mut Vec<f32>) {
        let reach = self.kernel.len() / 2;
        horizontal.resize(width * image.height() as usize, 0.0);
        let mut luma_row: Vec<f32> = Vec::with_capacity(width);
        horizontal
            .chunks_mut(width)
            .zip(image.as_raw().chunks(width * 3))
            .for_each(|(out_row, pixel_row)| {
                let in_row = &mut luma_row;
                in_row.clear();
                in_row.extend(pixel_row.chunks_exact(3).map(luma));
                out_row.fill(0.0);
                // Interior: one vectorisable `out += weight * shifted input` per tap.
                if width > 2 * reach {
                    let interior = &mut out_row[reach..width - reach];
                    for (tap, weight) in self.kernel.iter().enumerate() {
                        let shifted = &in_row[tap..tap + interior.len()];
                        for (out, source) in interior.iter_mut().zip(shifted) {
                            *out += weight * source;
                        }
                    }
                }
                // Edges: clamp the taps that fall outside the row.
                let edges =
                    (0..reach.min(width)).chain(width.saturating_sub(reach).max(reach)..width);
                for x in edges {
                    out_row[x] = self
                        .kernel
                        .iter()
                        .enumerate()
                        .map(|(tap, weight)| {
                            let source = x as isize + tap as isize - reach as isize;
                            weight * in_row[clamped(source, width)]
                        })
                        .sum();
                }
            });
    }
}

thread_local! {
    /// The sharpening's horizontal-blur plane, reused from one derivative to the next.
    static SHARPEN_PLANE: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// A plane larger than this (a derivative over 16 MP) is not kept for the next derivative.
const LARGEST_KEPT_PLANE: usize = 16 << 20;

/// Rec.601 luma of an 8-bit pixel, the sharpening's detail channel.
fn luma(pixel: &[u8]) -> f32 {
    0.299 * f32::from(pixel[0]) + 0.587 * f32::from(pixel[1]) + 0.114 * f32::from(pixel[2])
}

/// `index` clamped into `0..length`.
fn clamped(index: isize, length: usize) -> usize {
    index.clamp(0, length as isize - 1) as usize
}

// ---------------------------------------------------------------------------------------------
// The compiled preset

/// Where the white-balance gains come from.
#[derive(Debug, Clone, Copy)]
enum WhiteBalanceSource {
    Fixed([f32; 3]),
    Measured(AutoWhiteBalance),
}

/// A tone preset turned into lookup tables, ready to grade any number of photos.
pub struct CompiledTone {
    shape: ToneShape,
    white_balance: WhiteBalanceSource,
    /// Prebuilt input tables when the white balance does not depend on the photo.
    fixed_tables: Option<InputTables>,
    colour: Option<ColourLut>,
    vignette: Option<VignettePlan>,
    sharpen: Option<SharpenPlan>,
    /// Target display luminance of the face (`face_exposure`), if the preset sets one.
    face_exposure: Option<f32>,
    identity: bool,
}

impl fmt::Debug for CompiledTone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledTone")
            .field("white_balance", &self.white_balance)
            .field(
                "colour_grid_size",
                &self.colour.as_ref().map(|lut| lut.size),
            )
            .field("vignette", &self.vignette.is_some())
            .field("sharpen", &self.sharpen.is_some())
            .field("identity", &self.identity)
            .finish()
    }
}

/// Rows per band of the grading loop (the vignette looks its row terms up by band).
const ROWS_PER_BAND: usize = 64;

impl CompiledTone {
    /// Validates `preset`, loads its `.cube` (relative to `preset_dir`) and builds the tables.
    pub fn compile(preset: &TonePreset, preset_dir: &Path) -> Result<Self, ToneError> {
        preset.validate().map_err(ToneError::Invalid)?;
        let look = match preset.lut_path() {
            Some(path) => Some(load_cube(&preset_dir.join(path))?),
            None => None,
        };
        let grid_size = look
            .as_ref()
            .map_or(COLOUR_GRID_SIZE, |look| look.size.max(COLOUR_GRID_SIZE));
        let colour = ColourOps::new(preset, look).map(|ops| ColourLut::build(grid_size, &ops));
        let shape = ToneShape::new(preset);
        let white_balance = match preset.white_balance {
            WhiteBalance::AsShot => WhiteBalanceSource::Fixed([1.0; 3]),
            WhiteBalance::Manual { temperature, tint } => {
                WhiteBalanceSource::Fixed(temperature_tint_gains(temperature, tint))
            }
            WhiteBalance::Auto(method) => WhiteBalanceSource::Measured(method),
        };
        let fixed_tables = match white_balance {
            WhiteBalanceSource::Fixed(gains) => {
                Some(InputTables::build(&shape, gains, colour.as_ref()))
            }
            WhiteBalanceSource::Measured(_) => None,
        };
        let vignette = VignettePlan::new(&preset.vignette);
        let identity = colour.is_none()
            && vignette.is_none()
            && fixed_tables.as_ref().is_some_and(InputTables::is_identity);
        Ok(CompiledTone {
            shape,
            white_balance,
            fixed_tables,
            colour,
            vignette,
            sharpen: SharpenPlan::new(&preset.sharpen),
            face_exposure: preset.face_exposure,
            identity,
        })
    }

    /// True when [`apply`](Self::apply) would leave every pixel unchanged (sharpening aside),
    /// so the caller can skip the stage.
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// What this preset does, as a number: its result on 65536 pseudo-random colours (every
    /// region of a 3D LUT gets samples), its sharpening of them, and its face exposure target.
    /// Two presets that grade alike have equal fingerprints, whatever their files say.
    pub fn fingerprint(&self) -> u64 {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut probe = RgbImage::from_fn(256, 256, |_, _| {
            // xorshift64
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
        });
        self.apply(&mut probe);
        self.sharpen(&mut probe);
        let mut bytes = probe.into_raw();
        bytes.extend_from_slice(&self.face_exposure.unwrap_or(-1.0).to_le_bytes());
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    /// True when the white balance is measured on each photo (so a copy of it is needed).
    pub fn measures_white_balance(&self) -> bool {
        matches!(self.white_balance, WhiteBalanceSource::Measured(_))
    }

    /// True when [`sharpen`](Self::sharpen) does something.
    pub fn sharpens(&self) -> bool {
        self.sharpen.is_some()
    }

    /// The linear channel gains white balance will use on `image` (measured when automatic).
    pub fn white_balance_gains(&self, image: &RgbImage) -> [f32; 3] {
        match self.white_balance {
            WhiteBalanceSource::Fixed(gains) => gains,
            WhiteBalanceSource::Measured(method) => measure_white_balance(image, method),
        }
    }

    /// Grades `image` in place: steps 1–8 of the module doc in one pass.
    pub fn apply(&self, image: &mut RgbImage) {
        self.apply_with_exposure(image, 0.0);
    }

    /// Like [`apply`](Self::apply), with `extra_ev` stops of exposure on top of the preset's
    /// (from [`face_exposure_ev`](Self::face_exposure_ev)); folded into the same tables.
    pub fn apply_with_exposure(&self, image: &mut RgbImage, extra_ev: f32) {
        if !self.identity || extra_ev != 0.0 {
            self.apply_tables(image, extra_ev.exp2());
        }
    }

    /// The preset's target face luminance (`face_exposure`), if any.
    pub fn face_exposure(&self) -> Option<f32> {
        self.face_exposure
    }

    /// The extra exposure (EV, within ±[`MAX_FACE_EXPOSURE_EV`]) that brings the faces' mean
    /// display luminance after this preset to `face_exposure`.
    ///
    /// `preview` is a small ungraded copy of the photo and `faces` are in its pixels; only
    /// the middle of each face box is measured, so hair and backdrop count little. `None`
    /// when the preset has no `face_exposure` or there is no face to measure.
    pub fn face_exposure_ev(
        &self,
        preview: &RgbImage,
        faces: &[crate::faces::Face],
    ) -> Option<f32> {
        let target = self.face_exposure?;
        let mut samples: Vec<u8> = Vec::new();
        for face in faces {
            let [x, y, width, height] = face.bbox;
            let inner = |start: f32, length: f32, limit: u32| {
                let from = (start + length * 0.25).max(0.0) as u32;
                let to = ((start + length * 0.75).max(0.0) as u32).min(limit);
                from..to
            };
            for row in inner(y, height, preview.height()) {
                for column in inner(x, width, preview.width()) {
                    samples.extend_from_slice(&preview.get_pixel(column, row).0);
                }
            }
        }
        if samples.is_empty() {
            return None;
        }
        let gains = self.white_balance_gains(preview);
        let graded_luminance = |ev: f32| {
            let mut pixels = samples.clone();
            let tables = InputTables::build(
                &self.shape,
                gains.map(|gain| gain * ev.exp2()),
                self.colour.as_ref(),
            );
            match (&tables, &self.colour) {
                (InputTables::Grid(grid_tables), Some(colour)) => {
                    colour.map_row(&mut pixels, grid_tables)
                }
                (InputTables::Bytes(byte_tables), _) => map_row_bytes(&mut pixels, byte_tables),
                (InputTables::Grid(_), None) => unreachable!("grid tables need a colour grid"),
            }
            let to_linear = byte_to_linear_table();
            let total: f32 = pixels
                .chunks_exact(3)
                .map(|p| {
                    luminance([
                        to_linear[p[0] as usize],
                        to_linear[p[1] as usize],
                        to_linear[p[2] as usize],
                    ])
                })
                .sum();
            linear_to_srgb(total / (pixels.len() / 3) as f32)
        };
        // Graded luminance rises with exposure: bisect in EV.
        let (mut low, mut high) = (-MAX_FACE_EXPOSURE_EV, MAX_FACE_EXPOSURE_EV);
        for _ in 0..14 {
            let middle = (low + high) / 2.0;
            if graded_luminance(middle) < target {
                low = middle;
            } else {
                high = middle;
            }
        }
        Some((low + high) / 2.0)
    }

    /// Unsharp mask for a derivative after resizing; no-op when the preset does not sharpen.
    pub fn sharpen(&self, image: &mut RgbImage) {
        if let Some(plan) = &self.sharpen {
            plan.apply(image);
        }
    }

    fn input_tables(&self, image: &RgbImage, exposure_gain: f32) -> Cow<'_, InputTables> {
        match &self.fixed_tables {
            Some(tables) if exposure_gain == 1.0 => Cow::Borrowed(tables),
            _ => Cow::Owned(InputTables::build(
                &self.shape,
                self.white_balance_gains(image)
                    .map(|gain| gain * exposure_gain),
                self.colour.as_ref(),
            )),
        }
    }

    /// The pass itself, even for an identity preset (tests use this to check the tables).
    fn apply_tables(&self, image: &mut RgbImage, exposure_gain: f32) {
        let tables = self.input_tables(image, exposure_gain);
        self.apply_input_tables(image, &tables);
    }

    /// This preset fixed for one photo: white balance measured on `whole` (any small copy of the
    /// whole frame) and `extra_ev` folded in, so every derivative cut from the photo gets the
    /// same grade whatever part of it the derivative shows.
    pub fn for_photo(&self, whole: &RgbImage, extra_ev: f32) -> PhotoGrade<'_> {
        let tables = if self.identity && extra_ev == 0.0 {
            None
        } else {
            Some(self.input_tables(whole, extra_ev.exp2()))
        };
        PhotoGrade { tone: self, tables }
    }

    fn apply_input_tables(&self, image: &mut RgbImage, tables: &InputTables) {
        let (width, height) = (image.width(), image.height());
        if width == 0 || height == 0 {
            return;
        }
        let vignette_columns = self
            .vignette
            .as_ref()
            .map(|_| VignettePlan::axis_terms(width));
        let vignette_rows = self
            .vignette
            .as_ref()
            .map(|_| VignettePlan::axis_terms(height));
        let row_length = width as usize * 3;
        let pixels: &mut [u8] = image;
        pixels
            .chunks_mut(row_length * ROWS_PER_BAND)
            .enumerate()
            .for_each(|(band, band_pixels)| {
                for (row_in_band, row) in band_pixels.chunks_exact_mut(row_length).enumerate() {
                    match (tables, &self.colour) {
                        (InputTables::Grid(grid_tables), Some(colour)) => {
                            colour.map_row(row, grid_tables)
                        }
                        (InputTables::Bytes(byte_tables), _) => map_row_bytes(row, byte_tables),
                        (InputTables::Grid(_), None) => {
                            unreachable!("grid tables are only built with a colour grid")
                        }
                    }
                    if let (Some(plan), Some(columns), Some(rows)) =
                        (&self.vignette, &vignette_columns, &vignette_rows)
                    {
                        let y = band * ROWS_PER_BAND + row_in_band;
                        plan.apply_row(row, columns, rows[y]);
                    }
                }
            });
    }
}

/// A tone preset fixed for one photo by [`CompiledTone::for_photo`]: grades the photo's
/// derivatives after resizing (a point operation, so it is cheaper on the small derivatives than
/// on the whole frame, and the vignette falls on each derivative's own frame, post-crop).
pub struct PhotoGrade<'a> {
    tone: &'a CompiledTone,
    /// `None` when the grade leaves every pixel as it is.
    tables: Option<Cow<'a, InputTables>>,
}

impl PhotoGrade<'_> {
    /// Grades one derivative in place, then sharpens it when the preset sharpens.
    pub fn apply(&self, image: &mut RgbImage) {
        if let Some(tables) = &self.tables {
            self.tone.apply_input_tables(image, tables);
        }
        self.tone.sharpen(image);
    }
}

fn map_row_bytes(row: &mut [u8], tables: &[[u8; 256]; 3]) {
    for pixel in row.chunks_exact_mut(3) {
        pixel[0] = tables[0][pixel[0] as usize];
        pixel[1] = tables[1][pixel[1] as usize];
        pixel[2] = tables[2][pixel[2] as usize];
    }
}

// ---------------------------------------------------------------------------------------------
// .cube files

/// A 3D colour LUT read from an Adobe/Resolve `.cube` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Lut3d {
    title: Option<String>,
    size: usize,
    domain_min: [f32; 3],
    domain_max: [f32; 3],
    /// `size³` entries, red fastest, then green, then blue (the file's order).
    table: Vec<[f32; 3]>,
}

impl Lut3d {
    /// The `TITLE`, if the file has one.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Nodes per axis (`LUT_3D_SIZE`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Looks up an RGB triple (in the file's domain, clamped) with trilinear interpolation.
    pub fn sample(&self, rgb: [f32; 3]) -> [f32; 3] {
        let size = self.size;
        let mut nodes = [0usize; 3];
        let mut fractions = [0.0f32; 3];
        for channel in 0..3 {
            let span = self.domain_max[channel] - self.domain_min[channel];
            let unit = ((rgb[channel] - self.domain_min[channel]) / span).clamp(0.0, 1.0);
            let position = unit * (size - 1) as f32;
            let node = (position.floor() as usize).min(size - 2);
            nodes[channel] = node;
            fractions[channel] = position - node as f32;
        }
        let index = |red: usize, green: usize, blue: usize| {
            self.table
                [(nodes[0] + red) + (nodes[1] + green) * size + (nodes[2] + blue) * size * size]
        };
        let lerp = |a: [f32; 3], b: [f32; 3], t: f32| {
            [
                a[0] + (b[0] - a[0]) * t,
                a[1] + (b[1] - a[1]) * t,
                a[2] + (b[2] - a[2]) * t,
            ]
        };
        let [fr, fg, fb] = fractions;
        let near_blue = lerp(
            lerp(index(0, 0, 0), index(1, 0, 0), fr),
            lerp(index(0, 1, 0), index(1, 1, 0), fr),
            fg,
        );
        let far_blue = lerp(
            lerp(index(0, 0, 1), index(1, 0, 1), fr),
            lerp(index(0, 1, 1), index(1, 1, 1), fr),
            fg,
        );
        lerp(near_blue, far_blue, fb)
    }
}

/// Reads a 3D `.cube` LUT; errors name the file and, where there is one, the line.
pub fn load_cube(path: &Path) -> Result<Lut3d, ToneError> {
    let text = std::fs::read_to_string(path).map_err(|io_error| ToneError::LutRead {
        path: path.to_owned(),
        io_error,
    })?;
    parse_cube(&text, path)
}

/// Parses `.cube` text; `path` is only used in error messages.
pub fn parse_cube(text: &str, path: &Path) -> Result<Lut3d, ToneError> {
    let error_at = |line: Option<usize>, message: String| ToneError::Cube {
        path: path.to_owned(),
        line,
        message,
    };
    let mut title = None;
    let mut size: Option<usize> = None;
    let mut domain_min = [0.0f32; 3];
    let mut domain_max = [1.0f32; 3];
    let mut domain_line = None;
    let mut table: Vec<[f32; 3]> = Vec::new();
    let mut line_count = 0;

    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        line_count = line_number;
        let line = raw_line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |message: String| error_at(Some(line_number), message);
        let (keyword, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(keyword, rest)| (keyword, rest.trim()));
        if keyword == "TITLE" {
            title = Some(rest.trim_matches('"').to_owned());
            continue;
        }
        let without_comment = line.split('#').next().unwrap_or(line).trim();
        let starts_like_number = keyword
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_digit() || matches!(first, '-' | '+' | '.'));
        if starts_like_number {
            let Some(size) = size else {
                return Err(at(
                    "table data before LUT_3D_SIZE; a 3D .cube file declares `LUT_3D_SIZE N` \
                     before its rows"
                        .to_owned(),
                ));
            };
            let expected_rows = size * size * size;
            if table.len() == expected_rows {
                return Err(at(format!(
                    "more than {expected_rows} table rows; LUT_3D_SIZE {size} needs exactly \
                     {size}³ = {expected_rows}"
                )));
            }
            let row = parse_numbers::<3>(without_comment)
                .map_err(|problem| at(problem.describe("a table row", "red green blue")))?;
            table.push(row);
            continue;
        }
        if !table.is_empty() {
            return Err(at(format!(
                "keyword `{keyword}` after the table rows; keywords must come first"
            )));
        }
        let arguments = without_comment
            .split_once(char::is_whitespace)
            .map_or("", |(_, rest)| rest);
        match keyword {
            "LUT_3D_SIZE" => {
                if size.is_some() {
                    return Err(at("LUT_3D_SIZE appears twice".to_owned()));
                }
                let value = arguments.trim();
                let parsed: usize = value.parse().map_err(|_| {
                    at(format!(
                        "LUT_3D_SIZE `{value}` is not a whole number; allowed {}..={}",
                        CUBE_SIZE_RANGE.start(),
                        CUBE_SIZE_RANGE.end()
                    ))
                })?;
                if !CUBE_SIZE_RANGE.contains(&parsed) {
                    return Err(at(format!(
                        "LUT_3D_SIZE {parsed} is not supported; allowed {}..={}",
                        CUBE_SIZE_RANGE.start(),
                        CUBE_SIZE_RANGE.end()
                    )));
                }
                size = Some(parsed);
            }
            "LUT_1D_SIZE" | "LUT_1D_INPUT_RANGE" => {
                return Err(at(format!(
                    "`{keyword}`: this is a 1D LUT; headshot needs a 3D LUT (LUT_3D_SIZE), \
                     use the tone preset's `curve` for 1D adjustments"
                )));
            }
            "DOMAIN_MIN" => {
                domain_min = parse_numbers::<3>(arguments)
                    .map_err(|problem| at(problem.describe("DOMAIN_MIN", "red green blue")))?;
                domain_line = Some(line_number);
            }
            "DOMAIN_MAX" => {
                domain_max = parse_numbers::<3>(arguments)
                    .map_err(|problem| at(problem.describe("DOMAIN_MAX", "red green blue")))?;
                domain_line = Some(line_number);
            }
            "LUT_3D_INPUT_RANGE" => {
                let [low, high] = parse_numbers::<2>(arguments).map_err(|problem| {
                    at(problem.describe("LUT_3D_INPUT_RANGE", "minimum maximum"))
                })?;
                domain_min = [low; 3];
                domain_max = [high; 3];
                domain_line = Some(line_number);
            }
            // Other upper-case keywords are vendor extensions that do not change the table.
            vendor
                if vendor
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') => {}
            _ => {
                return Err(at(format!(
                    "`{keyword}` is neither a .cube keyword nor a number"
                )));
            }
        }
    }

    let Some(size) = size else {
        return Err(error_at(
            None,
            "no LUT_3D_SIZE line; expected a 3D .cube LUT".to_owned(),
        ));
    };
    let expected_rows = size * size * size;
    if table.len() != expected_rows {
        return Err(error_at(
            Some(line_count),
            format!(
                "file ends after {} table rows; LUT_3D_SIZE {size} needs {size}³ = {expected_rows}",
                table.len()
            ),
        ));
    }
    if (0..3).any(|channel| domain_min[channel] >= domain_max[channel]) {
        return Err(error_at(
            domain_line,
            format!(
                "DOMAIN_MIN {domain_min:?} must be below DOMAIN_MAX {domain_max:?} in every channel"
            ),
        ));
    }
    Ok(Lut3d {
        title,
        size,
        domain_min,
        domain_max,
        table,
    })
}

/// What was wrong with a line that should hold N numbers.
enum NumbersProblem {
    Count(usize),
    NotANumber(String),
}

impl NumbersProblem {
    fn describe(&self, what: &str, layout: &str) -> String {
        match self {
            NumbersProblem::Count(found) => {
                let expected = layout.split_whitespace().count();
                format!("{what} needs {expected} numbers ({layout}), found {found}")
            }
            NumbersProblem::NotANumber(token) => {
                format!("{what}: `{token}` is not a number")
            }
        }
    }
}

fn parse_numbers<const N: usize>(text: &str) -> Result<[f32; N], NumbersProblem> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.len() != N {
        return Err(NumbersProblem::Count(tokens.len()));
    }
    let mut numbers = [0.0f32; N];
    for (number, token) in numbers.iter_mut().zip(&tokens) {
        *number = token
            .parse::<f32>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| NumbersProblem::NotANumber((*token).to_owned()))?;
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A corpus photo, or `None` (with a SKIPPED note) when the shared corpus is absent.
    fn corpus_photo(name: &str) -> Option<RgbImage> {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if !corpus.is_dir() {
            if std::env::var("HEADSHOT_REQUIRE_CORPUS").as_deref() == Ok("1") {
                panic!(
                    "{} not found and HEADSHOT_REQUIRE_CORPUS=1",
                    corpus.display()
                );
            }
            println!("SKIPPED: ../shared/corpus not found");
            return None;
        }
        let path = corpus.join("faces").join(name);
        let photo = image::open(&path)
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", path.display()));
        Some(photo.to_rgb8())
    }

    fn compile_toml(text: &str) -> CompiledTone {
        let preset = TonePreset::from_toml_str(text).expect("preset parses");
        CompiledTone::compile(&preset, Path::new(".")).expect("preset compiles")
    }

    fn mean_abs_difference(a: &RgbImage, b: &RgbImage) -> f64 {
        assert_eq!(a.dimensions(), b.dimensions());
        let total: u64 = a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        total as f64 / a.len() as f64
    }

    fn max_abs_difference(a: &RgbImage, b: &RgbImage) -> u8 {
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    /// A smooth colourful test card, `width × height`.
    fn test_card(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let u = x as f32 / width as f32;
            let v = y as f32 / height as f32;
            image::Rgb([
                to_byte(u),
                to_byte(v),
                to_byte(0.5 + 0.5 * ((u + v) * 9.0).sin()),
            ])
        })
    }

    fn identity_cube_text(size: usize) -> String {
        let mut text =
            format!("# generated identity\nTITLE \"identity {size}\"\nLUT_3D_SIZE {size}\n");
        let step = 1.0 / (size - 1) as f64;
        for blue in 0..size {
            for green in 0..size {
                for red in 0..size {
                    text.push_str(&format!(
                        "{:.6} {:.6} {:.6}\n",
                        red as f64 * step,
                        green as f64 * step,
                        blue as f64 * step
                    ));
                }
            }
        }
        text
    }

    // --- built-in presets ---------------------------------------------------------------------

    #[test]
    fn every_builtin_preset_parses_validates_and_compiles() {
        let expected = ["neutral", "clean-bright", "warm", "bw-classic", "high-key"];
        let names: Vec<&str> = BUILTIN_TONE_PRESETS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, expected);
        for (name, text) in BUILTIN_TONE_PRESETS {
            let preset = TonePreset::from_toml_str(text)
                .unwrap_or_else(|error| panic!("built-in {name} does not parse: {error}"));
            assert!(
                preset.description.is_some(),
                "built-in {name} has no description"
            );
            preset
                .validate()
                .unwrap_or_else(|errors| panic!("built-in {name} is invalid: {errors:?}"));
            let compiled = CompiledTone::compile(&preset, Path::new("presets/tone"))
                .unwrap_or_else(|error| panic!("built-in {name} does not compile: {error}"));
            assert_eq!(compiled.is_identity(), *name == "neutral", "{name}");
        }
    }

    #[test]
    fn every_builtin_preset_runs_on_the_corpus_pngs() {
        for photo_name in ["astronaut.png", "lin-manuel-miranda.png"] {
            let Some(photo) = corpus_photo(photo_name) else {
                return;
            };
            for (name, text) in BUILTIN_TONE_PRESETS {
                let compiled = compile_toml(text);
                let mut graded = photo.clone();
                compiled.apply(&mut graded);
                compiled.sharpen(&mut graded);
                assert_eq!(graded.dimensions(), photo.dimensions());
                let difference = mean_abs_difference(&graded, &photo);
                if *name == "neutral" {
                    assert_eq!(difference, 0.0, "neutral changed {photo_name}");
                } else {
                    assert!(
                        difference > 1.0,
                        "{name} barely changed {photo_name}: {difference}"
                    );
                }
            }
        }
    }

    #[test]
    fn neutral_is_identity_on_a_real_photo() {
        let Some(photo) = corpus_photo("astronaut.png") else {
            return;
        };
        let neutral = compile_toml(BUILTIN_TONE_PRESETS[0].1);
        assert!(neutral.is_identity());
        assert!(!neutral.sharpens());
        // Force the table pass that `apply` skips, to check the tables themselves.
        let mut graded = photo.clone();
        neutral.apply_tables(&mut graded, 1.0);
        let difference = mean_abs_difference(&graded, &photo);
        assert!(difference < 0.5, "mean difference {difference} levels");
        // Values that only look like settings are still recognised as neutral.
        let also_neutral = compile_toml(
            "white_balance = { temperature = 6500, tint = 0 }\ncurve = [[0, 0], [1, 1]]\n\
             vignette = { amount = 0, midpoint = 20 }",
        );
        assert!(also_neutral.is_identity());
    }

    #[test]
    fn bw_classic_has_no_chroma() {
        let Some(photo) = corpus_photo("astronaut.png") else {
            return;
        };
        let bw = compile_toml(
            BUILTIN_TONE_PRESETS
                .iter()
                .find(|(name, _)| *name == "bw-classic")
                .expect("bw-classic exists")
                .1,
        );
        let mut graded = photo.clone();
        bw.apply(&mut graded);
        let chroma = graded
            .pixels()
            .map(|pixel| {
                let [red, green, blue] = pixel.0;
                red.abs_diff(green).max(green.abs_diff(blue))
            })
            .max()
            .unwrap_or(0);
        assert!(chroma <= 1, "max channel spread {chroma}");
        // The original has colour, so the test would notice a no-op.
        let original_chroma = photo
            .pixels()
            .map(|pixel| pixel.0[0].abs_diff(pixel.0[2]))
            .max()
            .unwrap_or(0);
        assert!(original_chroma > 50);
    }

    #[test]
    fn exposure_one_doubles_linear_midtones() {
        let Some(photo) = corpus_photo("astronaut.png") else {
            return;
        };
        let brighter = compile_toml("exposure = 1");
        let mut graded = photo.clone();
        brighter.apply(&mut graded);
        let to_linear = byte_to_linear_table();
        let (mut before, mut after, mut count) = (0.0f64, 0.0f64, 0);
        for (original, exposed) in photo.iter().zip(graded.iter()) {
            let linear = to_linear[*original as usize];
            if (0.05..=0.4).contains(&linear) {
                before += f64::from(linear);
                after += f64::from(to_linear[*exposed as usize]);
                count += 1;
            }
        }
        assert!(count > 10_000, "too few mid-tone samples: {count}");
        let ratio = after / before;
        assert!(
            (1.8..=2.2).contains(&ratio),
            "linear mid-tone ratio {ratio}"
        );
        // And -1 EV halves them.
        let darker = compile_toml("exposure = -1");
        let mut graded = photo.clone();
        darker.apply(&mut graded);
        let halved: f64 = photo
            .iter()
            .zip(graded.iter())
            .filter(|(original, _)| (0.05..=0.4).contains(&to_linear[**original as usize]))
            .map(|(_, exposed)| f64::from(to_linear[*exposed as usize]))
            .sum();
        let ratio = halved / before;
        assert!((0.45..=0.55).contains(&ratio), "-1 EV ratio {ratio}");
    }

    #[test]
    fn face_exposure_brings_faces_to_the_target_brightness() {
        // A dim "face" on a bright backdrop, and a darker one under a contrasty preset.
        let face = crate::faces::Face {
            bbox: [40.0, 30.0, 40.0, 50.0],
            score: 0.9,
            eyes: [[52.0, 50.0], [68.0, 50.0]],
        };
        for (grey, preset) in [
            (110u8, "face_exposure = 0.55"),
            (80, "face_exposure = 0.55\ncontrast = 30\nsaturation = 20"),
        ] {
            let mut photo = RgbImage::from_pixel(120, 120, image::Rgb([230, 230, 230]));
            for y in 30..80 {
                for x in 40..80 {
                    photo.put_pixel(x, y, image::Rgb([grey, grey, grey]));
                }
            }
            let tone = compile_toml(preset);
            let ev = tone
                .face_exposure_ev(&photo, std::slice::from_ref(&face))
                .expect("a face to measure");
            assert!(
                ev > 0.5 && ev < MAX_FACE_EXPOSURE_EV,
                "grey {grey}: {ev} EV"
            );
            let mut graded = photo.clone();
            tone.apply_with_exposure(&mut graded, ev);
            let measured = f32::from(graded.get_pixel(60, 55).0[1]) / 255.0;
            assert!(
                (measured - 0.55).abs() < 0.02,
                "grey {grey}: face at {measured}"
            );
            // No faces, nothing to measure.
            assert_eq!(tone.face_exposure_ev(&photo, &[]), None);
        }
        assert_eq!(
            compile_toml("exposure = 1").face_exposure_ev(&RgbImage::new(9, 9), &[face]),
            None
        );
    }

    // --- .cube ---------------------------------------------------------------------------------

    #[test]
    fn identity_cube_leaves_the_image_alone() {
        let Some(photo) = corpus_photo("astronaut.png") else {
            return;
        };
        let folder = tempfile::tempdir().expect("temp dir");
        for size in [33, 65] {
            let file_name = format!("identity-{size}.cube");
            std::fs::write(folder.path().join(&file_name), identity_cube_text(size))
                .expect("write cube");
            let lut = load_cube(&folder.path().join(&file_name)).expect("identity cube parses");
            assert_eq!(lut.size(), size);
            assert_eq!(lut.title(), Some(format!("identity {size}").as_str()));
            let preset = TonePreset::from_toml_str(&format!("lut = \"{file_name}\""))
                .expect("preset parses");
            let compiled = CompiledTone::compile(&preset, folder.path()).expect("compiles");
            assert!(!compiled.is_identity());
            assert_eq!(compiled.colour.as_ref().map(|grid| grid.size), Some(size));
            let mut graded = photo.clone();
            compiled.apply(&mut graded);
            let mean = mean_abs_difference(&graded, &photo);
            let max = max_abs_difference(&graded, &photo);
            assert!(
                mean < 0.1 && max <= 1,
                "size {size}: mean {mean}, max {max}"
            );
        }
    }

    #[test]
    fn cube_look_is_applied_with_its_domain() {
        // A size-2 LUT that inverts, with DOMAIN_MAX 2: input 1.0 sits half-way.
        let text = "LUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 2 2 2\n\
                    1 1 1\n0 1 1\n1 0 1\n0 0 1\n1 1 0\n0 1 0\n1 0 0\n0 0 0\n";
        let lut = parse_cube(text, Path::new("invert.cube")).expect("parses");
        let sample = lut.sample([1.0, 0.0, 2.0]);
        let expected = [0.5, 1.0, 0.0];
        for (got, want) in sample.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{sample:?}");
        }
    }

    #[test]
    fn malformed_cube_errors_name_the_file_and_line() {
        let header = "TITLE \"bad\"\nLUT_3D_SIZE 2\n";
        let rows = "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n";
        let cases: Vec<(String, Option<usize>, &str)> = vec![
            (format!("{header}0 0\n"), Some(3), "found 2"),
            (
                format!("{header}0 0 0\n0 x 0\n"),
                Some(4),
                "`x` is not a number",
            ),
            ("LUT_1D_SIZE 16\n0 0 0\n".to_owned(), Some(1), "1D LUT"),
            (
                "# no size\n0 0 0\n".to_owned(),
                Some(2),
                "before LUT_3D_SIZE",
            ),
            ("LUT_3D_SIZE 66\n".to_owned(), Some(1), "allowed 2..=65"),
            (
                "LUT_3D_SIZE big\n".to_owned(),
                Some(1),
                "not a whole number",
            ),
            (format!("{header}{rows}0 0 0\n"), Some(11), "more than 8"),
            (
                format!("{header}0 0 0\n1 0 0\n"),
                Some(4),
                "after 2 table rows",
            ),
            (
                format!("{header}0 0 0\nDOMAIN_MIN 0 0 0\n"),
                Some(4),
                "after the table",
            ),
            (
                format!("{header}{rows}").replace("TITLE", "Title"),
                Some(1),
                "neither",
            ),
            (
                format!("{header}DOMAIN_MIN 1 0 0\nDOMAIN_MAX 1 1 1\n{rows}"),
                Some(4),
                "must be below",
            ),
            (String::new(), None, "no LUT_3D_SIZE"),
        ];
        for (text, line, needle) in cases {
            let error = parse_cube(&text, Path::new("looks/bad.cube")).expect_err(&text);
            let message = error.to_string();
            match &error {
                ToneError::Cube { line: got, .. } => assert_eq!(*got, line, "{message}"),
                other => panic!("expected a Cube error, got {other:?}"),
            }
            assert!(message.starts_with("looks/bad.cube"), "{message}");
            if let Some(line) = line {
                assert!(message.contains(&format!("line {line}:")), "{message}");
            }
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        let valid = format!("\u{feff}{header}LUT_3D_INPUT_RANGE 0 1\nVENDOR_FLAG 1\n{rows}");
        assert!(parse_cube(&valid, Path::new("ok.cube")).is_ok());
    }

    #[test]
    fn missing_cube_file_names_the_file() {
        let preset = TonePreset::from_toml_str("lut = \"nowhere/missing.cube\"").expect("parses");
        let error = CompiledTone::compile(&preset, Path::new("/presets")).expect_err("missing");
        let message = error.to_string();
        assert!(matches!(error, ToneError::LutRead { .. }), "{error:?}");
        assert!(
            message.contains("/presets/nowhere/missing.cube"),
            "{message}"
        );
    }

    // --- bad presets ---------------------------------------------------------------------------

    #[test]
    fn out_of_range_values_name_the_key_and_the_allowed_range() {
        let preset = TonePreset::from_toml_str(
            "exposure = 12\ncontrast = -150\nwhite_balance = { temperature = 900 }\n\
             vignette = { amount = -20, midpoint = 120 }\nsharpen = { amount = 50, radius = 9 }\n\
             face_exposure = 1.5\nblack_and_white = { red = 0, green = 0, blue = 0 }\n\
             lut = \"look.png\"",
        )
        .expect("parses");
        let errors = preset.validate().expect_err("out of range");
        let keys: Vec<&str> = errors.iter().map(|error| error.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "exposure",
                "contrast",
                "white_balance.temperature",
                "black_and_white",
                "lut",
                "vignette.midpoint",
                "sharpen.radius",
                "face_exposure",
            ]
        );
        assert_eq!(
            errors[0].message,
            "exposure = 12 is out of range; allowed -5..=5 EV"
        );
        assert!(
            errors[2].message.contains("3000..=12000 K"),
            "{}",
            errors[2]
        );
        let compile_error = CompiledTone::compile(&preset, Path::new(".")).expect_err("invalid");
        assert!(compile_error.to_string().contains("exposure = 12"));
        let nan = TonePreset::from_toml_str("shadows = nan").expect("parses");
        assert_eq!(nan.validate().expect_err("NaN")[0].key, "shadows");
    }

    #[test]
    fn bad_curves_are_reported_under_curve() {
        for (text, needle) in [
            ("curve = [[0, 0]]", "1 point"),
            (
                "curve = [[0, 0], [0.5, 0.7], [0.4, 0.8], [1, 1]]",
                "point 3",
            ),
            ("curve = [[0, 0], [300, 255]]", "out of range"),
            ("curve = [[0, -1], [1, 1]]", "out of range"),
        ] {
            let errors = TonePreset::from_toml_str(text)
                .expect("parses")
                .validate()
                .expect_err(text);
            assert_eq!(errors[0].key, "curve", "{text}");
            assert!(errors[0].message.contains(needle), "{}", errors[0]);
        }
        let wrong_shape = TonePreset::from_toml_str("curve = [[0, 0, 0], [1, 1]]")
            .expect_err("three numbers in a point");
        assert!(wrong_shape.to_string().contains("curve"), "{wrong_shape}");
    }

    #[test]
    fn wrong_types_and_unknown_keys_name_the_key() {
        for (text, needle) in [
            ("exposure = \"bright\"", "exposure"),
            ("exposur = 1", "exposur"),
            ("white_balance = { temprature = 5000 }", "temprature"),
            ("white_balance = \"daylight\"", "as-shot"),
            ("white_balance = 5500", "white_balance"),
            ("black_and_white = \"yes\"", "black_and_white"),
            ("vignette = { amount = -20, feather = 3 }", "feather"),
            ("sharpen = 50", "sharpen"),
        ] {
            let error = TonePreset::from_toml_str(text).expect_err(text);
            assert!(matches!(error, ToneError::Parse(_)));
            assert!(error.to_string().contains(needle), "{text}: {error}");
        }
        // The registry deserializes merged tables, without source text: keys still named.
        let table: toml::Table = toml::from_str("exposure = \"bright\"").expect("valid TOML");
        let error = table.try_into::<TonePreset>().expect_err("wrong type");
        assert!(error.to_string().contains("exposure"), "{error}");
    }

    #[test]
    fn partial_presets_and_value_shapes_parse() {
        let preset = TonePreset::from_toml_str(
            "description = \"x\"\nextends = \"warm\"\nwhite_balance = { tint = 10 }\n\
             black_and_white = true\nvignette = { amount = -10 }",
        )
        .expect("parses");
        assert_eq!(preset.extends.as_deref(), Some("warm"));
        assert_eq!(
            preset.white_balance,
            WhiteBalance::Manual {
                temperature: 6500.0,
                tint: 10.0
            }
        );
        assert_eq!(
            preset.black_and_white,
            BlackAndWhite::Mix(ChannelMix::default())
        );
        assert_eq!(preset.vignette.midpoint, 50.0);
        for (text, expected) in [
            (
                "\"grey-world\"",
                WhiteBalance::Auto(AutoWhiteBalance::GreyWorld),
            ),
            ("\"auto\"", WhiteBalance::Auto(AutoWhiteBalance::GreyWorld)),
            (
                "\"brightest-neutral\"",
                WhiteBalance::Auto(AutoWhiteBalance::BrightestNeutral),
            ),
            ("\"as-shot\"", WhiteBalance::AsShot),
        ] {
            let preset = TonePreset::from_toml_str(&format!("white_balance = {text}")).expect(text);
            assert_eq!(preset.white_balance, expected);
        }
        let off = TonePreset::from_toml_str("black_and_white = false\nlut = \"\"\ncurve = []")
            .expect("parses");
        assert_eq!(off.black_and_white, BlackAndWhite::Off);
        assert!(off.lut_path().is_none());
        assert!(compile_toml("black_and_white = false\nlut = \"\"\ncurve = []").is_identity());
    }

    // --- operations ----------------------------------------------------------------------------

    #[test]
    fn curve_is_monotone_and_passes_through_its_points() {
        let pairs = [
            [0.0, 0.0],
            [64.0, 40.0],
            [128.0, 150.0],
            [192.0, 200.0],
            [255.0, 255.0],
        ];
        let points = pairs.map(|[input, output]| CurvePoint { input, output });
        let spline = MonotoneSpline::new(&points);
        for [input, output] in pairs {
            assert!((spline.eval(input / 255.0) - output / 255.0).abs() < 1e-5);
        }
        let mut previous = -1.0;
        for step in 0..=1000 {
            let value = spline.eval(step as f32 / 1000.0);
            assert!(value >= previous - 1e-6, "not monotone at {step}");
            previous = value;
        }
        // 0..=255 and 0..=1 units describe the same curve.
        let unit_points = pairs.map(|[input, output]| CurvePoint {
            input: input / 255.0,
            output: output / 255.0,
        });
        let in_units = MonotoneSpline::new(&unit_points);
        assert!((in_units.eval(0.3) - spline.eval(0.3)).abs() < 1e-5);
    }

    #[test]
    fn temperature_and_tint_move_colour_the_expected_way() {
        let warm = temperature_tint_gains(7500.0, 0.0);
        assert!(warm[0] > warm[2], "7500 K should warm: {warm:?}");
        let cool = temperature_tint_gains(5000.0, 0.0);
        assert!(cool[0] < cool[2], "5000 K should cool: {cool:?}");
        let magenta = temperature_tint_gains(6500.0, 50.0);
        assert!(
            magenta[1] < magenta[0] && magenta[1] < magenta[2],
            "{magenta:?}"
        );
        for gains in [warm, cool, magenta] {
            assert!((luminance(gains) - 1.0).abs() < 1e-4);
        }
        let extremes = [
            temperature_tint_gains(*TEMPERATURE_RANGE.start(), 0.0),
            temperature_tint_gains(*TEMPERATURE_RANGE.end(), 0.0),
        ];
        for gains in extremes {
            assert!(
                gains.iter().all(|gain| (0.25..=3.5).contains(gain)),
                "{gains:?}"
            );
        }
    }

    #[test]
    fn auto_white_balance_removes_a_cast() {
        // Grey patches and a white card under a warm cast, plus one saturated colour patch.
        let cast = [1.25f32, 1.0, 0.7];
        let to_linear = byte_to_linear_table();
        let photo = RgbImage::from_fn(300, 200, |x, y| {
            let grey = if x < 100 {
                0.05
            } else if x < 200 {
                0.2
            } else {
                0.55
            };
            if y > 170 && x < 60 {
                return image::Rgb([40, 160, 60]);
            }
            image::Rgb(cast.map(|gain| to_byte(linear_to_srgb((grey * gain).min(1.0)))))
        });
        for mode in ["grey-world", "brightest-neutral"] {
            let compiled = compile_toml(&format!("white_balance = \"{mode}\""));
            assert!(!compiled.is_identity());
            let mut graded = photo.clone();
            compiled.apply(&mut graded);
            let pixel = graded.get_pixel(250, 50).0;
            let linear = pixel.map(|code| to_linear[code as usize]);
            let spread = (linear[0] / linear[1] - 1.0)
                .abs()
                .max((linear[2] / linear[1] - 1.0).abs());
            let limit = if mode == "grey-world" { 0.12 } else { 0.03 };
            assert!(spread < limit, "{mode}: white card is {pixel:?}");
            let before = photo.get_pixel(250, 50).0;
            assert!(
                before[0].abs_diff(before[2]) > 40,
                "test needs a visible cast"
            );
        }
    }

    #[test]
    fn vignette_darkens_corners_and_keeps_the_centre() {
        let grey = RgbImage::from_pixel(301, 201, image::Rgb([128, 128, 128]));
        let compiled = compile_toml("vignette = { amount = -60, midpoint = 40 }");
        let mut graded = grey.clone();
        compiled.apply(&mut graded);
        assert_eq!(graded.get_pixel(150, 100).0, [128; 3]);
        let corner = graded.get_pixel(0, 0).0[0];
        let edge = graded.get_pixel(0, 100).0[0];
        assert!(corner < edge && edge < 128, "corner {corner}, edge {edge}");
        // -0.9 EV at the corner: linear × 0.54.
        let expected = linear_to_srgb(srgb_to_linear(128.0 / 255.0) * (-0.9f32).exp2()) * 255.0;
        assert!(
            (f32::from(corner) - expected).abs() < 3.0,
            "{corner} vs {expected}"
        );
    }

    #[test]
    fn saturation_and_vibrance_keep_greys_and_move_colour() {
        let photo = test_card(64, 64);
        let mut grey_card = RgbImage::from_fn(16, 16, |x, _| {
            let code = (x * 16) as u8;
            image::Rgb([code; 3])
        });
        let grey_before = grey_card.clone();
        let punchy = compile_toml("saturation = 40\nvibrance = 30");
        punchy.apply(&mut grey_card);
        assert!(max_abs_difference(&grey_card, &grey_before) <= 1);
        let mut graded = photo.clone();
        punchy.apply(&mut graded);
        let spread = |image: &RgbImage| -> f64 {
            image
                .pixels()
                .map(|pixel| {
                    let max = pixel.0.iter().max().copied().unwrap_or(0);
                    let min = pixel.0.iter().min().copied().unwrap_or(0);
                    f64::from(max - min)
                })
                .sum()
        };
        assert!(spread(&graded) > spread(&photo) * 1.1);
        let mut muted = photo.clone();
        compile_toml("saturation = -100").apply(&mut muted);
        assert!(spread(&muted) < photo.len() as f64 * 0.01);
    }

    #[test]
    fn tone_sliders_move_the_right_part_of_the_range() {
        let ramp = RgbImage::from_fn(256, 1, |x, _| image::Rgb([x as u8; 3]));
        let graded = |text: &str| {
            let mut image = ramp.clone();
            compile_toml(text).apply(&mut image);
            image
        };
        let code = |image: &RgbImage, x: u32| i32::from(image.get_pixel(x, 0).0[0]);
        let shadows = graded("shadows = 60");
        assert!(code(&shadows, 60) > 70 && code(&shadows, 230) - 230 < 5);
        let highlights = graded("highlights = -60");
        assert!(code(&highlights, 190) < 180 && (code(&highlights, 40) - 40).abs() < 4);
        let contrast = graded("contrast = 50");
        assert!(code(&contrast, 60) < 55 && code(&contrast, 200) > 205);
        assert!((code(&contrast, 118) - 118).abs() <= 1, "pivot moved");
        let blacks = graded("blacks = 50");
        assert!(code(&blacks, 0) >= 12);
        let crushed = graded("blacks = -100");
        assert_eq!(code(&crushed, 20), 0);
        let whites = graded("whites = -100");
        assert!(code(&whites, 255) <= 231);
        let curve = graded("curve = [[0, 0], [128, 160], [255, 255]]");
        assert!((code(&curve, 128) - 160).abs() <= 1);
    }

    #[test]
    fn sharpen_adds_edge_contrast_only_when_asked() {
        let edge = RgbImage::from_fn(40, 20, |x, _| {
            image::Rgb(if x < 20 { [80; 3] } else { [160; 3] })
        });
        let neutral = compile_toml("");
        let mut untouched = edge.clone();
        neutral.sharpen(&mut untouched);
        assert_eq!(untouched, edge);
        let crisp = compile_toml("sharpen = { amount = 100, radius = 1.0 }");
        assert!(crisp.sharpens());
        let mut sharpened = edge.clone();
        crisp.sharpen(&mut sharpened);
        assert!(sharpened.get_pixel(19, 10).0[0] < 75, "dark side overshoot");
        assert!(
            sharpened.get_pixel(20, 10).0[0] > 165,
            "bright side overshoot"
        );
        assert_eq!(sharpened.get_pixel(2, 10).0, [80; 3], "flat area unchanged");
        // A threshold above the edge's detail leaves it alone.
        let gentle = compile_toml("sharpen = { amount = 100, radius = 1.0, threshold = 50 }");
        let mut kept = edge.clone();
        gentle.sharpen(&mut kept);
        assert_eq!(kept, edge);
        // Images narrower than the kernel, and empty ones, take the clamped-edge path only.
        let wide = compile_toml("sharpen = { amount = 100, radius = 3.0 }");
        for (width, height) in [(0, 0), (1, 1), (2, 5), (7, 3), (19, 2)] {
            let mut tiny = RgbImage::from_pixel(width, height, image::Rgb([90, 120, 150]));
            wide.sharpen(&mut tiny);
            assert!(
                tiny.pixels().all(|pixel| pixel.0 == [90, 120, 150]),
                "{width}x{height}"
            );
            compile_toml(BUILTIN_TONE_PRESETS[3].1).apply(&mut tiny);
        }
    }

    /// CPU time of the calling thread in ms (Linux), so a busy machine does not inflate figures.
    fn thread_cpu_ms() -> Option<f64> {
        let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let nanoseconds: f64 = schedstat.split_whitespace().next()?.parse().ok()?;
        Some(nanoseconds / 1e6)
    }

    /// Runs `work` on one thread; returns (wall ms, CPU ms) of the best of `repeats` runs.
    fn time_on_one_thread(repeats: usize, mut work: impl FnMut() + Send) -> (f64, f64) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("thread pool");
        pool.install(|| {
            let (mut best_wall, mut best_cpu) = (f64::MAX, f64::MAX);
            for _ in 0..repeats {
                let cpu_before = thread_cpu_ms();
                let started = Instant::now();
                work();
                best_wall = best_wall.min(started.elapsed().as_secs_f64() * 1e3);
                if let (Some(before), Some(after)) = (cpu_before, thread_cpu_ms()) {
                    best_cpu = best_cpu.min(after - before);
                }
            }
            (best_wall, best_cpu)
        })
    }

    /// Timing figures for the closing note, single-threaded, best of 5. Wall time on a busy
    /// machine overstates cost; thread CPU time is coarse for short runs. Run optimised:
    /// `cargo test --lib --config 'profile.dev.package.headshot.opt-level=3'
    /// --config 'profile.dev.package.headshot.overflow-checks=false'
    /// tone::tests::timing -- --ignored --nocapture`
    #[test]
    fn vector_and_scalar_grid_paths_give_the_same_bytes() {
        let folder = tempfile::tempdir().expect("temp dir");
        std::fs::write(folder.path().join("look.cube"), identity_cube_text(17)).expect("write");
        let looks = BUILTIN_TONE_PRESETS
            .iter()
            .map(|(_, text)| text.to_string())
            .chain(["lut = \"look.cube\"\nsaturation = 30".to_string()]);
        // Every code on each axis, greys (tied fractions), two channels tied, and noise; 1003
        // pixels so the last few take the scalar path.
        let mut state = 0x9E37_79B9u32;
        let mut row: Vec<u8> = (0..=255u8).flat_map(|code| [code, code, code]).collect();
        row.extend((0..=255u8).flat_map(|code| [code, code, 255 - code]));
        while row.len() < 1003 * 3 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            row.push((state >> 24) as u8);
        }
        let mut checked = 0;
        for text in looks {
            let preset = TonePreset::from_toml_str(&text).expect("parses");
            let compiled = CompiledTone::compile(&preset, folder.path()).expect("compiles");
            let (Some(grid), Some(InputTables::Grid(tables))) =
                (&compiled.colour, &compiled.fixed_tables)
            else {
                continue;
            };
            let mut vector = row.clone();
            grid.map_row(&mut vector, tables);
            let mut scalar = row.clone();
            grid.map_row_scalar(&mut scalar, tables);
            assert_eq!(vector, scalar, "{text}");
            checked += 1;
        }
        assert!(checked >= 5, "only {checked} presets use the colour grid");
    }

    #[test]
    #[ignore = "timing report, run by hand"]
    fn timing() {
        let working = match corpus_photo("astronaut.png") {
            Some(photo) => {
                image::imageops::resize(&photo, 3000, 2000, image::imageops::FilterType::Triangle)
            }
            None => test_card(3000, 2000),
        };
        let derivative = image::imageops::thumbnail(&working, 2048, 1365);
        let folder = tempfile::tempdir().expect("temp dir");
        std::fs::write(folder.path().join("look.cube"), identity_cube_text(65)).expect("write");
        let extra = [
            (
                "grey-world",
                "white_balance = \"grey-world\"\nexposure = 0.3",
            ),
            ("cube-65", "lut = \"look.cube\"\nvibrance = 20"),
        ];
        println!("single thread, best of 5: wall ms / thread-CPU ms");
        for (name, text) in BUILTIN_TONE_PRESETS.iter().copied().chain(extra) {
            let preset = TonePreset::from_toml_str(text).expect("parses");
            let mut compiled = None;
            let compile = time_on_one_thread(5, || {
                compiled = Some(CompiledTone::compile(&preset, folder.path()).expect("compiles"));
            });
            let compiled = compiled.expect("compiled at least once");
            let apply = time_on_one_thread(5, || compiled.apply(&mut working.clone()));
            let copy = time_on_one_thread(5, || drop(std::hint::black_box(working.clone())));
            let sharpen = time_on_one_thread(5, || compiled.sharpen(&mut derivative.clone()));
            println!(
                "{name:>12}: compile {:6.1} / {:6.1}   apply 3000x2000 {:6.1} / {:6.1}   \
                 sharpen 2048x1365 {:6.1} / {:6.1}",
                compile.0,
                compile.1,
                apply.0 - copy.0,
                apply.1 - copy.1,
                sharpen.0,
                sharpen.1
            );
        }
    }
}
