//! Perceptual quality (SSIMULACRA2 against the 2048 px source) and the search for the quality
//! setting at which an encoder matches a target score.

use ssimulacra2::{
    compute_frame_ssimulacra2, ColorPrimaries, LinearRgb, Rgb, TransferCharacteristic,
};

use crate::encoders::Picture;

/// The source photo, converted to linear light once so each score converts only the output.
pub struct Reference {
    linear: LinearRgb,
}

fn linear_rgb(picture: &Picture) -> Result<LinearRgb, String> {
    let data = picture
        .rgb
        .chunks_exact(3)
        .map(|pixel| [pixel[0], pixel[1], pixel[2]].map(|channel| channel as f32 / 255.0))
        .collect();
    let rgb = Rgb::new(
        data,
        picture.width,
        picture.height,
        TransferCharacteristic::SRGB,
        ColorPrimaries::BT709,
    )
    .map_err(|error| format!("{error:?}"))?;
    LinearRgb::try_from(rgb).map_err(|error| format!("{error:?}"))
}

impl Reference {
    pub fn new(source: &Picture) -> Result<Reference, String> {
        Ok(Reference {
            linear: linear_rgb(source)?,
        })
    }

    /// SSIMULACRA2: 90 and up is visually lossless at 1:1, 70 very high, 50 medium quality.
    pub fn score(&self, decoded: &Picture) -> Result<f64, String> {
        compute_frame_ssimulacra2(self.linear.clone(), linear_rgb(decoded)?)
            .map_err(|error| error.to_string())
    }
}

/// One encode at one setting: its size and score.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub quality: u8,
    pub bytes: usize,
    pub score: f64,
}

/// Where an encoder meets a target score.
#[derive(Clone, Copy, Debug)]
pub struct Match {
    /// The lowest setting whose score reaches the target (or 100 when none does).
    pub quality: u8,
    /// File size at exactly the target score, interpolated between the settings either side
    /// of it: integer settings step size by a few percent, which would blur the comparison.
    pub bytes_at_target: f64,
    /// False when even quality 100 stays under the target.
    pub reached: bool,
}

/// Finds the lowest quality setting (1-100) whose score reaches `target`, starting from a setting
/// already measured: gallops away from it in doubling steps to bracket the target, then bisects.
/// About 5-8 encodes per search. Assumes the score grows with the setting, as it does on the whole.
pub fn match_score(
    target: f64,
    known: Probe,
    mut probe: impl FnMut(u8) -> Result<Probe, String>,
) -> Result<Match, String> {
    // Highest setting seen under the target, lowest seen at or over it.
    let mut under: Option<Probe> = None;
    let mut over: Option<Probe> = None;
    let classify = |point: Probe, under: &mut Option<Probe>, over: &mut Option<Probe>| {
        if point.score >= target {
            if over.is_none_or(|best| point.quality < best.quality) {
                *over = Some(point);
            }
        } else if under.is_none_or(|best| point.quality > best.quality) {
            *under = Some(point);
        }
    };
    classify(known, &mut under, &mut over);

    let mut step = 4u8;
    loop {
        let next = match (under, over) {
            (Some(_), Some(_)) => break,
            (Some(low), None) if low.quality == 100 => break,
            (Some(low), None) => low.quality.saturating_add(step).min(100),
            (None, Some(high)) if high.quality == 1 => break,
            (None, Some(high)) => high.quality.saturating_sub(step).max(1),
            (None, None) => unreachable!("the known probe is classified"),
        };
        classify(probe(next)?, &mut under, &mut over);
        step = step.saturating_mul(2);
    }
    while let (Some(low), Some(high)) = (under, over) {
        if high.quality <= low.quality + 1 {
            break;
        }
        let middle = low.quality + (high.quality - low.quality) / 2;
        classify(probe(middle)?, &mut under, &mut over);
    }

    Ok(match (under, over) {
        (Some(low), Some(high)) => {
            let span = high.score - low.score;
            let fraction = if span > 0.0 {
                ((target - low.score) / span).clamp(0.0, 1.0)
            } else {
                1.0
            };
            Match {
                quality: high.quality,
                bytes_at_target: low.bytes as f64
                    + (high.bytes as f64 - low.bytes as f64) * fraction,
                reached: true,
            }
        }
        (None, Some(high)) => Match {
            quality: high.quality,
            bytes_at_target: high.bytes as f64,
            reached: true,
        },
        (Some(low), None) => Match {
            quality: low.quality,
            bytes_at_target: low.bytes as f64,
            reached: false,
        },
        (None, None) => unreachable!("the known probe is classified"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up encoder whose score and size grow linearly with the setting.
    fn linear_probe(quality: u8) -> Result<Probe, String> {
        Ok(Probe {
            quality,
            bytes: quality as usize * 1000,
            score: quality as f64,
        })
    }

    #[test]
    fn finds_the_crossing_below_and_above_the_known_setting() {
        for target in [30.5, 84.5, 85.0, 97.25] {
            let known = linear_probe(85).unwrap();
            let found = match_score(target, known, linear_probe).unwrap();
            assert!(found.reached);
            assert_eq!(found.quality, target.ceil() as u8);
            assert!((found.bytes_at_target - target * 1000.0).abs() < 1e-6);
        }
    }

    #[test]
    fn reports_an_unreachable_target() {
        let found = match_score(120.0, linear_probe(85).unwrap(), linear_probe).unwrap();
        assert!(!found.reached);
        assert_eq!(found.quality, 100);
    }
}
