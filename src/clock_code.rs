//! The `headshot clock` code: a QR code of the current time that each camera photographs once
//! (a clock slate), so the run knows how far that camera's clock is off.
//!
//! Payload: `HEADSHOT-CLOCK 2026-12-04T10:15:03.4+01:00`, the local wall-clock time of the
//! machine showing the code, to the tenth of a second (truncated), and its UTC offset. The
//! prefix keeps it apart from name slates and from any other QR code.

use std::io::Cursor;

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Zoned};
use qrcode::{Color, EcLevel, QrCode};

/// What every clock payload starts with.
pub const CLOCK_PREFIX: &str = "HEADSHOT-CLOCK ";

/// Blank modules around the code, as the QR standard asks for.
const QUIET_ZONE: usize = 4;

/// One reading of the reference clock: local time (to the tenth of a second) and UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub local: DateTime,
    pub offset: Offset,
}

/// A `--at` time that is not one the clock can show.
#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not a clock time: write YYYY-MM-DDTHH:MM:SS[.s][±HH:MM], e.g. 2026-12-04T10:15:03.4+01:00")]
pub struct BadClockTime {
    pub text: String,
}

impl ClockReading {
    /// The system clock now, in the system's time zone.
    pub fn now() -> Self {
        Self::of(&Zoned::now())
    }

    /// A zoned time, truncated to the tenth of a second.
    pub fn of(zoned: &Zoned) -> Self {
        Self::truncated(zoned.datetime(), zoned.offset())
    }

    /// The clock shows tenths: what it shows at `local`.
    fn truncated(local: DateTime, offset: Offset) -> Self {
        let tenths = local.subsec_nanosecond() / 100_000_000;
        let local = local
            .with()
            .subsec_nanosecond(tenths * 100_000_000)
            .build()
            .unwrap_or(local);
        Self { local, offset }
    }

    /// `--at TIME`: `YYYY-MM-DDTHH:MM:SS[.fff]` with an optional `±HH:MM` (without one, the
    /// system's offset at that time).
    pub fn parse_at(text: &str) -> Result<Self, BadClockTime> {
        let bad = || BadClockTime {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        if let Some(reading) = parse_payload_time(trimmed) {
            return Ok(Self::truncated(reading.local, reading.offset));
        }
        let local: DateTime = trimmed.parse().map_err(|_| bad())?;
        let zoned = local
            .to_zoned(jiff::tz::TimeZone::system())
            .map_err(|_| bad())?;
        Ok(Self::of(&zoned))
    }

    /// The QR payload, e.g. `HEADSHOT-CLOCK 2026-12-04T10:15:03.4+01:00`.
    pub fn payload(&self) -> String {
        format!("{CLOCK_PREFIX}{}", self.display_time())
    }

    /// `2026-12-04T10:15:03.4+01:00`.
    pub fn display_time(&self) -> String {
        let tenths = self.local.subsec_nanosecond() / 100_000_000;
        let seconds = self.offset.seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.unsigned_abs() / 60;
        format!(
            "{}.{tenths}{sign}{:02}:{:02}",
            self.local.strftime("%Y-%m-%dT%H:%M:%S"),
            minutes / 60,
            minutes % 60
        )
    }

    /// The reading in a QR payload, when it is a clock payload.
    pub fn from_payload(payload: &str) -> Option<Self> {
        parse_payload_time(payload.trim().strip_prefix(CLOCK_PREFIX.trim_end())?.trim())
    }

    /// How far a camera clock that showed `camera` when this reading was photographed is off:
    /// what to add to that camera's times.
    pub fn offset_of(&self, camera: DateTime) -> SignedDuration {
        self.local.duration_since(camera)
    }
}

/// `2026-12-04T10:15:03.4+01:00` (any number of fraction digits, offset required).
fn parse_payload_time(text: &str) -> Option<ClockReading> {
    let parsed = jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%.f%:z", text).ok()?;
    Some(ClockReading {
        local: parsed.to_datetime().ok()?,
        offset: parsed.offset()?,
    })
}

/// The code's modules, dark = `true`, with the quiet zone around them: (side, modules).
fn modules(reading: &ClockReading) -> (usize, Vec<bool>) {
    // A clock payload is short ASCII: it always fits (version 3 at level M).
    let code = QrCode::with_error_correction_level(reading.payload().as_bytes(), EcLevel::M)
        .expect("a clock payload always fits a QR code");
    let width = code.width();
    let side = width + 2 * QUIET_ZONE;
    let mut dark = vec![false; side * side];
    for (index, color) in code.to_colors().iter().enumerate() {
        let (x, y) = (index % width + QUIET_ZONE, index / width + QUIET_ZONE);
        dark[y * side + x] = *color == Color::Dark;
    }
    (side, dark)
}

/// The code drawn with Unicode half blocks (two module rows per text line, dark on light
/// whatever the terminal's colours), then the time as text.
pub fn terminal_text(reading: &ClockReading) -> String {
    let (side, dark) = modules(reading);
    // Light modules are drawn as full blocks (white), dark ones as spaces, on a reset
    // background: so the code reads on dark and light terminal themes alike.
    let mut text = String::new();
    for top in (0..side).step_by(2) {
        text.push_str("\x1b[97;40m");
        for x in 0..side {
            let upper = dark[top * side + x];
            let lower = top + 1 >= side || dark[(top + 1) * side + x];
            text.push(match (upper, lower) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        text.push_str("\x1b[0m\n");
    }
    text.push_str(&reading.display_time());
    text.push('\n');
    text
}

/// The code as an SVG image (one unit per module), for the clock page.
pub fn svg(reading: &ClockReading) -> String {
    let (side, dark) = modules(reading);
    let mut path = String::new();
    for (index, _) in dark.iter().enumerate().filter(|(_, dark)| **dark) {
        let (x, y) = (index % side, index / side);
        path.push_str(&format!("M{x} {y}h1v1h-1z"));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

/// The code as a grey PNG, `module_pixels` per module, for printing and for tests.
pub fn png(reading: &ClockReading, module_pixels: u32) -> Vec<u8> {
    let (side, dark) = modules(reading);
    let scale = module_pixels.max(1);
    let size = side as u32 * scale;
    let image = image::GrayImage::from_fn(size, size, |x, y| {
        let module = (y / scale) as usize * side + (x / scale) as usize;
        image::Luma([if dark[module] { 0 } else { 255 }])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_to_the_tenth() {
        let reading = ClockReading::parse_at("2026-12-04T10:15:03.47+01:00").unwrap();
        assert_eq!(
            reading.payload(),
            "HEADSHOT-CLOCK 2026-12-04T10:15:03.4+01:00"
        );
        assert_eq!(
            ClockReading::from_payload(&reading.payload()),
            Some(reading)
        );
        assert_eq!(ClockReading::from_payload("HEADSHOT-CLOCK soon"), None);
        assert_eq!(
            ClockReading::from_payload("2026-12-04T10:15:03.4+01:00"),
            None
        );
        assert!(ClockReading::parse_at("10:15").is_err());
        let west = ClockReading::parse_at("2026-12-04T10:15:03-05:30").unwrap();
        assert_eq!(west.display_time(), "2026-12-04T10:15:03.0-05:30");
    }

    #[test]
    fn offset_is_reference_minus_camera() {
        let reading = ClockReading::parse_at("2026-12-04T10:15:03.4+01:00").unwrap();
        let camera: DateTime = "2026-12-04T10:17:00.2".parse().unwrap();
        assert_eq!(
            reading.offset_of(camera),
            SignedDuration::from_millis(-116_800)
        );
    }

    #[test]
    fn the_png_reads_back_as_its_payload() {
        let reading = ClockReading::parse_at("2026-12-04T10:15:03.4+01:00").unwrap();
        let bytes = png(&reading, 8);
        let image = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(
            crate::names::read_slate(&image).as_deref(),
            Some(reading.payload().as_str())
        );
        let text = terminal_text(&reading);
        assert!(text.contains('▀') && text.ends_with("10:15:03.4+01:00\n"));
        assert!(svg(&reading).starts_with("<svg"));
    }
}
