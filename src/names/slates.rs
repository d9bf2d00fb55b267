//! QR slates: reading the code on a photographed card, and telling slates from other QR codes.
//!
//! Detection runs on a grey copy downscaled to about a thousand pixels on the long edge: a card
//! held up before a portrait is large in the frame, and rqrr's cost grows with pixel count.

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::RgbImage;

use crate::clock_code::ClockReading;
use crate::resize::{self, SourceBox};

/// Long edge of the grey copy for the first try.
const FIRST_LONG_EDGE: u32 = 1000;
/// Photos larger than this get a second, sharper try when the first finds nothing.
const SECOND_TRY_ABOVE: u32 = 1300;
/// Long edge for that second try (a small card far away needs the pixels).
const SECOND_LONG_EDGE: u32 = 2000;
/// Long edge for the second try of a photo already small (blur and noise average out).
const SMALL_SECOND_LONG_EDGE: u32 = 500;
/// Longest payload taken as a slate: ids and names are short; longer codes are something else.
const MAX_SLATE_PAYLOAD_CHARS: usize = 200;

/// Reads the QR code in an upright photo, at any size; `None` when no code decodes.
///
/// When several codes decode, the largest in the frame wins. Never panics on odd input.
/// Whether the payload is a slate is for [`classify_payload`] to say.
pub fn read_slate(upright: &RgbImage) -> Option<String> {
    let long_edge = upright.width().max(upright.height());
    if long_edge == 0 {
        return None;
    }
    let second = if long_edge > SECOND_TRY_ABOVE {
        SECOND_LONG_EDGE.min(long_edge)
    } else {
        SMALL_SECOND_LONG_EDGE
    };
    // On a small image both tries can come to the same copy: read it once.
    let same_copy = shrink_factor(long_edge, FIRST_LONG_EDGE) == shrink_factor(long_edge, second);
    let tries: &[u32] = if same_copy {
        &[FIRST_LONG_EDGE]
    } else {
        &[FIRST_LONG_EDGE, second]
    };
    tries.iter().find_map(|&target| decode_at(upright, target))
}

/// The whole-number factor a copy of about `target_long_edge` is shrunk by (1: not shrunk).
fn shrink_factor(long_edge: u32, target_long_edge: u32) -> u32 {
    ((long_edge as f64 / target_long_edge as f64).round() as u32).max(1)
}

fn decode_at(upright: &RgbImage, target_long_edge: u32) -> Option<String> {
    let (width, height, grey) = grey_downscaled(upright, target_long_edge);
    if width < 21 || height < 21 {
        return None;
    }
    // rqrr is a pure-Rust parser of arbitrary pixels; a bug there must not take a run down.
    catch_unwind(AssertUnwindSafe(|| {
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
        prepared
            .detect_grids()
            .into_iter()
            .filter_map(|grid| {
                let area = quad_area(&grid.bounds);
                grid.decode().ok().map(|(_, content)| (area, content))
            })
            .max_by_key(|(area, _)| *area)
            .map(|(_, content)| content)
    }))
    .ok()
    .flatten()
}

fn quad_area(points: &[rqrr::Point; 4]) -> i64 {
    let mut twice_area = 0i64;
    for index in 0..4 {
        let (a, b) = (points[index], points[(index + 1) % 4]);
        twice_area += i64::from(a.x) * i64::from(b.y) - i64::from(b.x) * i64::from(a.y);
    }
    twice_area.abs() / 2
}

/// A grey copy whose long edge lands near `target_long_edge`: the luma of each integer block's
/// mean colour.
fn grey_downscaled(image: &RgbImage, target_long_edge: u32) -> (usize, usize, Vec<u8>) {
    let long_edge = image.width().max(image.height());
    let factor = shrink_factor(long_edge, target_long_edge);
    let (width, height) = (image.width() / factor, image.height() / factor);
    if width == 0 || height == 0 {
        return (width as usize, height as usize, Vec::new());
    }
    // The block means by fast_image_resize's box filter (SIMD), then luma of the small copy: a
    // scalar loop over every source pixel was a fifth of a slate run's time on 24 MP photos.
    let blocks = SourceBox {
        left: 0.0,
        top: 0.0,
        width: f64::from(width * factor),
        height: f64::from(height * factor),
    };
    let shrunk = match factor {
        1 => None,
        _ => match resize::shrink_to_block_means(image, blocks, width, height) {
            Ok(shrunk) => Some(shrunk),
            Err(_) => return (0, 0, Vec::new()),
        },
    };
    let small = shrunk.as_ref().unwrap_or(image);
    let grey = small
        .as_raw()
        .chunks_exact(3)
        // Rec. 601 luma in fixed point.
        .map(|rgb| {
            ((u32::from(rgb[0]) * 77 + u32::from(rgb[1]) * 150 + u32::from(rgb[2]) * 29) >> 8) as u8
        })
        .collect();
    if let Some(shrunk) = shrunk {
        // The copy's buffer goes back to this worker's spares (it is several MB).
        crate::pixel_pool::give(shrunk.into_raw());
    }
    (width as usize, height as usize, grey)
}

/// What a decoded QR payload means for naming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlatePayload {
    /// A slate: the trimmed payload (an attendee id, or a name).
    Slate(String),
    /// A clock slate (`headshot clock`): the reference time it showed. It names nobody.
    Clock(ClockReading),
    /// Some other code (URL, contact card, Wi-Fi, multi-line or long text): the photo is not a
    /// slate. Conference badges often carry one, and a portrait must not turn into a slate.
    Foreign(String),
}

/// Sorts a decoded payload into slate or foreign code.
pub fn classify_payload(payload: &str) -> SlatePayload {
    if let Some(reading) = ClockReading::from_payload(payload) {
        return SlatePayload::Clock(reading);
    }
    let trimmed = payload.trim();
    let lower = trimmed.to_lowercase();
    const FOREIGN_PREFIXES: [&str; 11] = [
        "www.", "begin:", "mecard:", "wifi:", "mailto:", "tel:", "sms:", "smsto:", "geo:",
        "bitcoin:", "matmsg:",
    ];
    let foreign = trimmed.is_empty()
        || trimmed.contains(['\n', '\r'])
        || trimmed.chars().count() > MAX_SLATE_PAYLOAD_CHARS
        || lower.contains("://")
        || FOREIGN_PREFIXES
            .iter()
            .any(|prefix| lower.starts_with(prefix));
    if foreign {
        SlatePayload::Foreign(trimmed.to_string())
    } else {
        SlatePayload::Slate(trimmed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_payloads() {
        assert_eq!(
            classify_payload(" A0042 "),
            SlatePayload::Slate("A0042".into())
        );
        assert_eq!(
            classify_payload("李小龍"),
            SlatePayload::Slate("李小龍".into())
        );
        assert!(matches!(
            classify_payload("HEADSHOT-CLOCK 2026-12-04T10:15:03.4+01:00"),
            SlatePayload::Clock(_)
        ));
        for foreign in [
            "https://conf.example/u/1",
            "BEGIN:VCARD\nFN:Ann\nEND:VCARD",
            "WIFI:S:x;;",
            "",
            "   ",
        ] {
            assert!(
                matches!(classify_payload(foreign), SlatePayload::Foreign(_)),
                "{foreign:?}"
            );
        }
    }

    #[test]
    fn downscale_averages_blocks() {
        let image = RgbImage::from_fn(40, 20, |x, _| {
            if x % 2 == 0 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let (width, height, grey) = grey_downscaled(&image, 20);
        assert_eq!((width, height), (20, 10));
        assert!(grey.iter().all(|&v| (126..=128).contains(&v)), "{grey:?}");
        // Already small: every pixel as it is.
        let (width, height, grey) = grey_downscaled(&image, 100);
        assert_eq!((width, height), (40, 20));
        assert_eq!(&grey[..4], &[0, 255, 0, 255]);
    }

    #[test]
    fn downscale_is_the_mean_luma_of_each_block() {
        // Uneven sizes: the right and bottom remainders are left out.
        let image = RgbImage::from_fn(77, 52, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (x * y) as u8, (200 - x - y) as u8])
        });
        let (width, height, grey) = grey_downscaled(&image, 25);
        assert_eq!((width, height), (25, 17));
        for (index, &value) in grey.iter().enumerate() {
            let (bx, by) = ((index % width) as u32, (index / width) as u32);
            let mut sum = 0;
            for y in by * 3..by * 3 + 3 {
                for x in bx * 3..bx * 3 + 3 {
                    let [r, g, b] = image.get_pixel(x, y).0.map(u32::from);
                    sum += (r * 77 + g * 150 + b * 29) >> 8;
                }
            }
            // Luma of the mean colour against the mean luma: rounding apart, the same.
            assert!(
                u32::from(value).abs_diff(sum / 9) <= 2,
                "block {bx},{by}: {value} against {}",
                sum / 9
            );
        }
    }

    #[test]
    fn blank_and_tiny_images_read_nothing() {
        assert_eq!(read_slate(&RgbImage::new(0, 0)), None);
        assert_eq!(read_slate(&RgbImage::new(10, 10)), None);
        assert_eq!(
            read_slate(&RgbImage::from_pixel(800, 600, image::Rgb([200, 200, 200]))),
            None
        );
    }
}
