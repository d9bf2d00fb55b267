//! Crop presets: the TOML shape of a framing choice (aspect, anchor, face framing)
//! and its one-time validation, so planning never re-checks configuration.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest allowed `straighten`, in degrees: straightening corrects a tilted
/// horizon, it is not a creative rotation, and large angles cost a lot of frame.
pub const MAX_STRAIGHTEN_DEGREES: f64 = 15.0;
/// Largest `zoom`: beyond this a headshot crop is mostly upscaled noise.
pub const MAX_ZOOM: f64 = 8.0;
/// The most elongated aspect accepted either way (10:1 or 1:10).
const MAX_ASPECT_ELONGATION: f64 = 10.0;

/// Output shape of a crop: the source's own shape or a fixed `W:H` ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Aspect {
    /// Keep the upright photo's own width:height.
    Original,
    /// A fixed ratio, stored reduced (`"8:10"` becomes 4:5).
    Ratio { width: u32, height: u32 },
}

impl Aspect {
    /// The reduced `(width, height)` ratio for a photo of `upright_size`.
    pub fn ratio_for(self, upright_size: (u32, u32)) -> (u32, u32) {
        match self {
            Aspect::Original => reduce(upright_size.0.max(1), upright_size.1.max(1)),
            Aspect::Ratio { width, height } => (width, height),
        }
    }
}

impl TryFrom<String> for Aspect {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let trimmed = text.trim();
        let expected =
            "expected \"original\" or \"W:H\" with whole numbers, e.g. \"4:5\", \"1:1\", \"16:9\"";
        if trimmed.eq_ignore_ascii_case("original") {
            return Ok(Aspect::Original);
        }
        let (width_text, height_text) = trimmed
            .split_once(':')
            .ok_or_else(|| format!("invalid aspect {text:?}: {expected}"))?;
        let parse = |part: &str| part.trim().parse::<u32>().ok().filter(|value| *value > 0);
        match (parse(width_text), parse(height_text)) {
            (Some(width), Some(height)) => {
                let (width, height) = reduce(width, height);
                Ok(Aspect::Ratio { width, height })
            }
            _ => Err(format!("invalid aspect {text:?}: {expected}")),
        }
    }
}

impl From<Aspect> for String {
    fn from(aspect: Aspect) -> String {
        aspect.to_string()
    }
}

impl fmt::Display for Aspect {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aspect::Original => formatter.write_str("original"),
            Aspect::Ratio { width, height } => write!(formatter, "{width}:{height}"),
        }
    }
}

/// Where the crop window goes when it is smaller than the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// Centre of the frame.
    Center,
    /// The salient subject on the upper thirds line (see `plan_crop`).
    Thirds,
    /// The window with the most skin tone, saturated colour and edges.
    Attention,
    /// Framed by the detected face: `eye_line`, `face_height`, `faces`.
    Face,
}

impl fmt::Display for Anchor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Anchor::Center => "center",
            Anchor::Thirds => "thirds",
            Anchor::Attention => "attention",
            Anchor::Face => "face",
        })
    }
}

/// Which detected faces the `face` anchor frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaceChoice {
    /// The largest face, preferring the one nearest the centre among faces of similar size.
    Largest,
    /// A crop containing every face.
    All,
    /// The face nearest the centre of the frame.
    Center,
}

/// What fills the canvas where a face crop runs past the photo's edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Pad {
    /// Never extend the canvas: shrink or shift the crop to stay inside the photo.
    None,
    /// Extend the canvas with this sRGB colour (written `"#rrggbb"`).
    Colour([u8; 3]),
}

impl Pad {
    /// The fill colour, if padding is on.
    pub fn colour(self) -> Option<[u8; 3]> {
        match self {
            Pad::None => None,
            Pad::Colour(rgb) => Some(rgb),
        }
    }
}

impl TryFrom<String> for Pad {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("none") {
            return Ok(Pad::None);
        }
        let invalid = || format!("invalid pad {text:?}: expected \"none\" or a colour \"#rrggbb\"");
        let hex = trimmed.strip_prefix('#').ok_or_else(invalid)?;
        if hex.len() != 6 || !hex.is_ascii() {
            return Err(invalid());
        }
        let mut rgb = [0u8; 3];
        for (channel, value) in rgb.iter_mut().enumerate() {
            *value = u8::from_str_radix(&hex[channel * 2..channel * 2 + 2], 16)
                .map_err(|_| invalid())?;
        }
        Ok(Pad::Colour(rgb))
    }
}

impl From<Pad> for String {
    fn from(pad: Pad) -> String {
        match pad {
            Pad::None => "none".to_string(),
            Pad::Colour([red, green, blue]) => format!("#{red:02x}{green:02x}{blue:02x}"),
        }
    }
}

/// A crop preset as written in `presets/crop/*.toml` or a user's file.
///
/// Every key is optional: a missing key takes the default below, so a partial
/// file (or one that `extends` a built-in, merged by the preset registry) parses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CropPreset {
    /// One line for `headshot presets list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Name of the preset this one builds on; resolved by the registry, ignored here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Output shape. Default `original`.
    pub aspect: Aspect,
    /// Placement of the crop. Default `center`.
    pub anchor: Anchor,
    /// 1.0 = the largest crop of `aspect` that fits; 2.0 = half that width and height.
    /// Ignored by the `face` anchor, whose scale comes from `face_height`. Default 1.0.
    pub zoom: f64,
    /// Rotation in degrees, positive turns the picture clockwise. Default 0.
    pub straighten: f64,
    /// Smallest acceptable long edge of the crop in source pixels; a smaller crop
    /// is warned about (never upscaled). 0 = no check. Default 0.
    pub min_size: u32,
    /// `face` anchor: eye midpoint height as a fraction of the output height from the top. Default 0.36.
    pub eye_line: f64,
    /// `face` anchor: face box height as a fraction of the output height. Default 0.30.
    pub face_height: f64,
    /// `face` anchor: rotate so the eyes are level (only tilts up to 10 degrees). Default false.
    pub level_eyes: bool,
    /// `face` anchor: `"none"` keeps the crop inside the photo, `"#rrggbb"` extends the canvas. Default `"none"`.
    pub pad: Pad,
    /// `face` anchor: which faces to frame. Default `largest`.
    pub faces: FaceChoice,
    /// Anchor used when no face is found (the photo is then marked for review). Default `attention`.
    pub fallback: Anchor,
}

impl Default for CropPreset {
    fn default() -> Self {
        CropPreset {
            description: None,
            extends: None,
            aspect: Aspect::Original,
            anchor: Anchor::Center,
            zoom: 1.0,
            straighten: 0.0,
            min_size: 0,
            eye_line: 0.36,
            face_height: 0.30,
            level_eyes: false,
            pad: Pad::None,
            faces: FaceChoice::Largest,
            fallback: Anchor::Attention,
        }
    }
}

/// One problem with one preset key, for a message like `zoom: must be ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The TOML key at fault.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for FieldError {}

impl CropPreset {
    /// True when planning this crop reads detected faces (the anchor or its fallback).
    pub fn uses_faces(&self) -> bool {
        self.anchor == Anchor::Face || self.fallback == Anchor::Face
    }

    /// Checks every value range once, up front; returns all problems, not just the first.
    ///
    /// Types and choices (`anchor = "middle"`, `aspect = "4x5"`, unknown keys)
    /// are already rejected by deserialization with the key and line.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, key: &str, message: String| {
            if !ok {
                errors.push(FieldError {
                    key: key.to_string(),
                    message,
                });
            }
        };
        if let Aspect::Ratio { width, height } = self.aspect {
            let elongation = f64::from(width.max(height)) / f64::from(width.min(height));
            check(
                elongation <= MAX_ASPECT_ELONGATION,
                "aspect",
                format!("{width}:{height} is too elongated; allowed from 1:10 to 10:1"),
            );
        }
        check(
            self.zoom.is_finite() && (1.0..=MAX_ZOOM).contains(&self.zoom),
            "zoom",
            format!(
                "must be from 1.0 (the largest crop that fits) to {MAX_ZOOM}, got {}",
                self.zoom
            ),
        );
        check(
            self.straighten.is_finite() && self.straighten.abs() <= MAX_STRAIGHTEN_DEGREES,
            "straighten",
            format!(
                "must be from -{MAX_STRAIGHTEN_DEGREES} to {MAX_STRAIGHTEN_DEGREES} degrees, got {}",
                self.straighten
            ),
        );
        check(
            self.min_size <= 65_535,
            "min_size",
            format!(
                "must be from 0 (no check) to 65535 px (the JPEG limit), got {}",
                self.min_size
            ),
        );
        check(
            self.eye_line.is_finite() && (0.05..=0.95).contains(&self.eye_line),
            "eye_line",
            format!(
                "must be a fraction of the output height from 0.05 to 0.95, got {}",
                self.eye_line
            ),
        );
        check(
            self.face_height.is_finite() && self.face_height > 0.02 && self.face_height <= 1.0,
            "face_height",
            format!(
                "must be a fraction of the output height above 0.02 and at most 1.0, got {}",
                self.face_height
            ),
        );
        check(
            self.fallback != Anchor::Face,
            "fallback",
            "must be center, thirds or attention (it is used when no face is found)".to_string(),
        );
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Greatest common divisor, for reducing ratios.
pub(crate) fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// `(width, height)` divided by their greatest common divisor.
pub(crate) fn reduce(width: u32, height: u32) -> (u32, u32) {
    let divisor = gcd(width, height);
    (width / divisor, height / divisor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CropPreset, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn partial_file_takes_defaults() {
        let preset = parse("aspect = \"4:5\"\nanchor = \"face\"\n").expect("partial preset parses");
        assert_eq!(
            preset.aspect,
            Aspect::Ratio {
                width: 4,
                height: 5
            }
        );
        assert_eq!(preset.anchor, Anchor::Face);
        assert_eq!(preset.zoom, 1.0);
        assert_eq!(preset.fallback, Anchor::Attention);
        assert_eq!(preset.pad, Pad::None);
        assert!(preset.validate().is_ok());
    }

    #[test]
    fn aspect_and_pad_parse_and_round_trip() {
        let preset = parse("aspect = \"8:10\"\npad = \"#FfA000\"\nextends = \"headshot-4x5\"\n")
            .expect("parses");
        assert_eq!(
            preset.aspect,
            Aspect::Ratio {
                width: 4,
                height: 5
            }
        );
        assert_eq!(preset.pad, Pad::Colour([255, 160, 0]));
        let text = toml::to_string(&preset).expect("serializes");
        assert!(text.contains("aspect = \"4:5\""), "{text}");
        assert!(text.contains("pad = \"#ffa000\""), "{text}");
        assert_eq!(parse(&text).expect("reparses"), preset);
    }

    #[test]
    fn bad_types_and_choices_name_the_key() {
        for (text, key, hint) in [
            ("aspect = \"4x5\"", "aspect", "W:H"),
            ("aspect = \"0:5\"", "aspect", "W:H"),
            ("anchor = \"middle\"", "anchor", "attention"),
            ("faces = \"biggest\"", "faces", "largest"),
            ("pad = \"red\"", "pad", "#rrggbb"),
            ("zoom = \"big\"", "zoom", ""),
            ("zoomm = 2.0", "zoomm", ""),
        ] {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(key), "{text}: {message}");
            assert!(message.contains(hint), "{text}: {message}");
        }
    }

    #[test]
    fn validation_names_each_bad_key() {
        let preset = CropPreset {
            zoom: 0.5,
            straighten: 40.0,
            eye_line: 1.2,
            face_height: 0.0,
            fallback: Anchor::Face,
            aspect: Aspect::Ratio {
                width: 20,
                height: 1,
            },
            ..CropPreset::default()
        };
        let errors = preset.validate().expect_err("out of range values");
        let keys: Vec<&str> = errors.iter().map(|error| error.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "aspect",
                "zoom",
                "straighten",
                "eye_line",
                "face_height",
                "fallback"
            ]
        );
        assert!(
            errors[1].to_string().starts_with("zoom: must be from 1.0"),
            "{}",
            errors[1]
        );
        let nan_zoom = CropPreset {
            zoom: f64::NAN,
            ..CropPreset::default()
        };
        assert_eq!(nan_zoom.validate().expect_err("NaN zoom")[0].key, "zoom");
    }
}
