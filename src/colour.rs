//! Brings every decoded photo into sRGB, the colour space the web and every upload site assume.
//!
//! The source's embedded ICC profile (Adobe RGB, Display P3, ProPhoto, grey, CMYK...) decides; an
//! Adobe RGB camera file without a profile is recognised by its EXIF hint (InteroperabilityIndex
//! `R03`); anything else is taken as sRGB. Conversion runs once per photo, on the working image,
//! through a moxcms transform (matrix-shaper or LUT). Profiles that already describe sRGB are
//! recognised and cost nothing. A profile that cannot be used is a warning, never a failure.
//! [`srgb_icc`] is the compact profile every output embeds.

use std::sync::{Arc, Mutex, OnceLock};

use moxcms::{
    ColorProfile, DataColorSpace, Layout, ProfileText, RenderingIntent, Transform8BitExecutor,
    TransformOptions,
};

use crate::decode::{Decoded, SourceChannels};

/// What [`to_srgb`] did to one photo.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColourOutcome {
    /// The source colour space when pixels were converted (e.g. `"Adobe RGB (1998)"`), `None`
    /// when the photo was already sRGB (or taken as such).
    pub converted_from: Option<String>,
    /// Profiles that could not be used, CMYK without a profile: the photo goes on as sRGB.
    pub warnings: Vec<String>,
}

/// The compact sRGB profile (moxcms' sRGB, ICC v4, parametric curves) embedded in every output.
pub fn srgb_icc() -> &'static [u8] {
    static PROFILE: OnceLock<Vec<u8>> = OnceLock::new();
    PROFILE.get_or_init(|| {
        ColorProfile::new_srgb()
            .encode()
            .expect("moxcms encodes its own built-in sRGB profile")
    })
}

/// Converts `decoded.image` to sRGB from the source's ICC profile or EXIF hint, in place.
///
/// `source_exif` is the source's EXIF (for the Adobe RGB hint when there is no profile). For a
/// CMYK source with a CMYK profile, the ink values in `decoded.cmyk` are converted instead of the
/// naive RGB the decoder made. `decoded.cmyk` is released either way.
pub fn to_srgb(decoded: &mut Decoded, source_exif: &[exif::Field]) -> ColourOutcome {
    let mut outcome = ColourOutcome::default();
    let cmyk = decoded.cmyk.take();
    let Some(icc) = decoded.icc_profile.as_deref() else {
        if decoded.channels == SourceChannels::Cmyk {
            outcome.warnings.push(
                "CMYK without an ICC profile: converted to RGB without colour management"
                    .to_string(),
            );
        } else if decoded.channels == SourceChannels::Rgb && exif_says_adobe_rgb(source_exif) {
            let transform = cached_transform(b"builtin:adobe-rgb", || {
                SourceTransform::build(&ColorProfile::new_adobe_rgb(), Layout::Rgb)
            });
            if let Ok(Some(transform)) = transform.as_ref() {
                apply_rgb(transform, &mut decoded.image, &mut outcome);
                outcome.converted_from = Some("Adobe RGB (EXIF InteroperabilityIndex R03)".into());
            }
        }
        return outcome;
    };
    // Grey files sometimes carry an RGB profile (sRGB mostly): the decoder's R=G=B pixels fit it.
    let grey_as_rgb =
        decoded.channels == SourceChannels::Grey && icc_colour_space(icc) == Some(*b"RGB ");
    let channels = if grey_as_rgb {
        SourceChannels::Rgb
    } else {
        decoded.channels
    };
    let layout = match channels {
        SourceChannels::Rgb => Layout::Rgb,
        SourceChannels::Grey => Layout::Gray,
        // moxcms reads 8-bit CMYK with the RGBA layout.
        SourceChannels::Cmyk => Layout::Rgba,
    };
    let mut key = vec![layout as u8];
    key.extend_from_slice(icc);
    let transform = cached_transform(&key, || {
        let profile = ColorProfile::new_from_slice(icc)
            .map_err(|error| format!("ICC profile unreadable ({error}); treated as sRGB"))?;
        let expected = match channels {
            SourceChannels::Rgb => DataColorSpace::Rgb,
            SourceChannels::Grey => DataColorSpace::Gray,
            SourceChannels::Cmyk => DataColorSpace::Cmyk,
        };
        if profile.color_space != expected {
            return Err(format!(
                "ICC profile is for {:?} but the pixels are {:?}; treated as sRGB",
                profile.color_space, channels
            ));
        }
        SourceTransform::build(&profile, layout)
    });
    match transform.as_ref() {
        Err(warning) => outcome.warnings.push(warning.clone()),
        Ok(None) => {}
        Ok(Some(transform)) => {
            match (channels, cmyk) {
                (SourceChannels::Cmyk, Some(mut inks)) => {
                    // Adobe CMYK JPEGs store 255 for no ink; ICC CMYK has 0 for no ink.
                    for ink in &mut inks {
                        *ink = 255 - *ink;
                    }
                    let mut rgb = vec![0u8; inks.len() / 4 * 3];
                    match transform.executor.transform(&inks, &mut rgb) {
                        Ok(()) => decoded.image.copy_from_slice(&rgb),
                        Err(error) => outcome.warnings.push(format!(
                            "colour conversion failed ({error}); CMYK converted without the profile"
                        )),
                    }
                }
                (SourceChannels::Grey, _) => {
                    let grey: Vec<u8> = decoded.image.pixels().map(|pixel| pixel[0]).collect();
                    match transform.executor.transform(&grey, &mut decoded.image) {
                        Ok(()) => {}
                        Err(error) => outcome.warnings.push(format!(
                            "colour conversion failed ({error}); treated as sRGB"
                        )),
                    }
                }
                _ => apply_rgb(transform, &mut decoded.image, &mut outcome),
            }
            if outcome.warnings.is_empty() {
                outcome.converted_from = Some(transform.name.clone());
            }
        }
    }
    outcome
}

/// The colour-space signature in an ICC header (bytes 16..20), e.g. `b"RGB "`.
fn icc_colour_space(icc: &[u8]) -> Option<[u8; 4]> {
    icc.get(16..20)?.try_into().ok()
}

fn apply_rgb(
    transform: &SourceTransform,
    image: &mut image::RgbImage,
    outcome: &mut ColourOutcome,
) {
    // The copy comes from the worker's spare buffers: a fresh 72 MB would fault in page by page.
    let mut source = crate::pixel_pool::take(image.as_raw().len());
    source.copy_from_slice(image.as_raw());
    if let Err(error) = transform.executor.transform(&source, image) {
        outcome.warnings.push(format!(
            "colour conversion failed ({error}); treated as sRGB"
        ));
        image.copy_from_slice(&source);
    }
    crate::pixel_pool::give(source);
}

/// True when the EXIF says Adobe RGB without a profile: InteroperabilityIndex `R03` (DCF option file).
pub fn exif_says_adobe_rgb(fields: &[exif::Field]) -> bool {
    fields.iter().any(|field| {
        field.tag == exif::Tag::InteroperabilityIndex
            && matches!(&field.value, exif::Value::Ascii(values)
                if values.first().is_some_and(|text| text.starts_with(b"R03")))
    })
}

/// A source profile's way into sRGB.
struct SourceTransform {
    /// The profile's description, for the record.
    name: String,
    executor: Arc<Transform8BitExecutor>,
}

/// `Ok(None)`: the profile is sRGB already; `Err`: a warning, the photo is taken as sRGB.
type CachedTransform = Result<Option<SourceTransform>, String>;

impl SourceTransform {
    fn build(profile: &ColorProfile, layout: Layout) -> CachedTransform {
        let name = profile
            .description
            .as_ref()
            .and_then(profile_text)
            .unwrap_or_else(|| format!("{:?} ICC profile", profile.color_space));
        let options = TransformOptions {
            // What browsers and ImageMagick use by default; equal to relative colorimetric for
            // matrix-shaper profiles, and the gentler gamut mapping for LUT (CMYK) profiles.
            rendering_intent: RenderingIntent::Perceptual,
            ..TransformOptions::default()
        };
        let executor = profile
            .create_transform_8bit(layout, &ColorProfile::new_srgb(), Layout::Rgb, options)
            .map_err(|error| {
                format!("ICC profile {name:?} cannot be applied ({error}); treated as sRGB")
            })?;
        if layout == Layout::Rgb && is_identity(executor.as_ref()) {
            return Ok(None);
        }
        Ok(Some(SourceTransform { name, executor }))
    }
}

/// True when the transform leaves every colour of a 17-step grid within one code value: the
/// profile is sRGB in all but name (cameras, phones and editors each ship their own copy).
fn is_identity(executor: &Transform8BitExecutor) -> bool {
    let step = |index: u32| (index * 255 / 16) as u8;
    let mut grid = Vec::with_capacity(17 * 17 * 17 * 3);
    for r in 0..=16 {
        for g in 0..=16 {
            for b in 0..=16 {
                grid.extend_from_slice(&[step(r), step(g), step(b)]);
            }
        }
    }
    let mut converted = vec![0u8; grid.len()];
    executor.transform(&grid, &mut converted).is_ok()
        && grid
            .iter()
            .zip(&converted)
            .all(|(&a, &b)| a.abs_diff(b) <= 1)
}

fn profile_text(text: &ProfileText) -> Option<String> {
    let text = match text {
        ProfileText::PlainString(text) => text.clone(),
        ProfileText::Localizable(strings) => strings.first()?.value.clone(),
        ProfileText::Description(description) => description.ascii_string.clone(),
    };
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_string())
}

/// Transforms by profile bytes: a shoot's photos share a handful of profiles, so each is parsed,
/// built and checked for sRGB once per run, not once per photo.
fn cached_transform(key: &[u8], build: impl FnOnce() -> CachedTransform) -> Arc<CachedTransform> {
    const CAPACITY: usize = 16;
    static CACHE: Mutex<Vec<(Vec<u8>, Arc<CachedTransform>)>> = Mutex::new(Vec::new());
    if let Ok(cache) = CACHE.lock() {
        if let Some((_, cached)) = cache.iter().find(|(cached_key, _)| cached_key == key) {
            return Arc::clone(cached);
        }
    }
    // Built outside the lock: a big CMYK profile must not hold up the other workers.
    let built = Arc::new(build());
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CAPACITY {
            cache.remove(0);
        }
        cache.push((key.to_vec(), Arc::clone(&built)));
    }
    built
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(image: image::RgbImage, channels: SourceChannels, icc: Option<Vec<u8>>) -> Decoded {
        Decoded {
            source_width: image.width(),
            source_height: image.height(),
            image,
            warnings: Vec::new(),
            channels,
            icc_profile: icc,
            cmyk: None,
        }
    }

    fn saturated() -> image::RgbImage {
        image::RgbImage::from_fn(8, 8, |x, y| {
            image::Rgb([(x * 32) as u8, 200, (y * 32) as u8])
        })
    }

    #[test]
    fn srgb_profile_and_no_profile_leave_pixels_alone() {
        let original = saturated();
        for icc in [None, Some(srgb_icc().to_vec())] {
            let mut photo = decoded(original.clone(), SourceChannels::Rgb, icc);
            let outcome = to_srgb(&mut photo, &[]);
            assert_eq!(outcome, ColourOutcome::default());
            assert_eq!(photo.image, original);
        }
    }

    #[test]
    fn adobe_rgb_green_becomes_more_saturated_in_srgb_terms() {
        let adobe = ColorProfile::new_adobe_rgb().encode().unwrap();
        let mut photo = decoded(
            image::RgbImage::from_pixel(4, 4, image::Rgb([60, 200, 60])),
            SourceChannels::Rgb,
            Some(adobe),
        );
        let outcome = to_srgb(&mut photo, &[]);
        assert!(outcome.converted_from.is_some(), "{outcome:?}");
        let [r, g, b] = photo.image.get_pixel(0, 0).0;
        // Adobe RGB's green primary lies outside sRGB: the same numbers mean a greener green.
        assert!(r < 50 && g >= 200 && b < 60, "{r} {g} {b}");
    }

    #[test]
    fn broken_profile_is_a_warning_and_pixels_stay() {
        let original = saturated();
        let mut photo = decoded(
            original.clone(),
            SourceChannels::Rgb,
            Some(b"not a profile".to_vec()),
        );
        let outcome = to_srgb(&mut photo, &[]);
        assert_eq!(outcome.converted_from, None);
        assert!(
            outcome.warnings[0].contains("ICC profile unreadable"),
            "{outcome:?}"
        );
        assert_eq!(photo.image, original);
    }

    #[test]
    fn grey_profile_on_rgb_pixels_is_refused() {
        let grey = ColorProfile::new_gray_with_gamma(2.2).encode().unwrap();
        let mut photo = decoded(saturated(), SourceChannels::Rgb, Some(grey));
        let outcome = to_srgb(&mut photo, &[]);
        assert!(outcome.warnings[0].contains("Gray"), "{outcome:?}");
    }

    #[test]
    fn grey_pixels_with_an_srgb_profile_need_nothing() {
        let grey = image::RgbImage::from_fn(4, 4, |x, _| image::Rgb([x as u8 * 60; 3]));
        let mut photo = decoded(
            grey.clone(),
            SourceChannels::Grey,
            Some(srgb_icc().to_vec()),
        );
        assert_eq!(to_srgb(&mut photo, &[]), ColourOutcome::default());
        assert_eq!(photo.image, grey);
    }

    #[test]
    fn exif_r03_means_adobe_rgb() {
        let field = exif::Field {
            tag: exif::Tag::InteroperabilityIndex,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Ascii(vec![b"R03".to_vec()]),
        };
        assert!(exif_says_adobe_rgb(std::slice::from_ref(&field)));
        let mut photo = decoded(
            image::RgbImage::from_pixel(2, 2, image::Rgb([60, 200, 60])),
            SourceChannels::Rgb,
            None,
        );
        let outcome = to_srgb(&mut photo, &[field]);
        assert!(outcome.converted_from.unwrap().contains("R03"));
        assert_ne!(photo.image.get_pixel(0, 0).0, [60, 200, 60]);
    }

    #[test]
    fn embedded_srgb_profile_is_small_and_reads_back_as_srgb() {
        let bytes = srgb_icc();
        assert!(bytes.len() < 1024, "{} bytes", bytes.len());
        let profile = ColorProfile::new_from_slice(bytes).unwrap();
        assert_eq!(profile.color_space, DataColorSpace::Rgb);
        let transform = SourceTransform::build(&profile, Layout::Rgb).unwrap();
        assert!(transform.is_none(), "recognised as sRGB");
    }
}
