//! Printable QR slate cards: one PNG per attendee (the id as a QR code, the name under it) and
//! one page with all of them.
//!
//! Text uses GNU Unifont bitmaps (8×16 and 16×16 cells, the whole Basic Multilingual Plane),
//! scaled up with square pixels: blocky but legible in any script it covers, with no font file
//! to find at run time. Characters it lacks (outside the BMP, e.g. emoji) print as `�` and are
//! reported; right-to-left scripts print unshaped in logical order and are reported too.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

use super::sheet::Roster;
use crate::naming::{slug, NameAllocator};
use crate::output::write_atomically;

/// Width of a card file: 10 cm at 300 dpi, so a card photographed across a room still decodes.
pub const CARD_WIDTH: u32 = 1200;
/// Width of each card on the all-cards page.
const PAGE_CARD_WIDTH: u32 = 600;
/// Cards per row on the all-cards page.
const PAGE_COLUMNS: u32 = 3;
/// Blank modules around the code: the standard asks for 4; more helps a hand-held card.
const QUIET_MODULES: u32 = 6;
/// File name of the page with every card.
pub const PAGE_FILE_NAME: &str = "all-cards.png";

const INK: Luma<u8> = Luma([0]);
const CUT_LINE: Luma<u8> = Luma([190]);

/// One rendered card.
#[derive(Debug, Clone)]
pub struct Card {
    pub image: GrayImage,
    /// Characters of the name the font lacks (printed as `�`).
    pub missing_glyphs: Vec<char>,
}

/// What [`render_cards`] wrote.
#[derive(Debug, Clone)]
pub struct CardSet {
    /// One card per attendee, in roster order.
    pub cards: Vec<PathBuf>,
    /// The page with all the cards.
    pub page: PathBuf,
    /// Names that did not print faithfully, one line each.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("{}: the roster has no attendees", roster.display())]
    EmptyRoster { roster: PathBuf },
    #[error("{}:{line}: id {id:?} does not fit in a QR code: {message}", roster.display())]
    Encode {
        roster: PathBuf,
        line: u64,
        id: String,
        message: String,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot encode PNG: {source}", path.display())]
    Png {
        path: PathBuf,
        source: image::ImageError,
    },
}

/// Writes one card per attendee into `out_dir` (`<id>-<name>.png`, slugged) and the page
/// [`PAGE_FILE_NAME`] with all of them. The QR code holds the attendee's id exactly.
pub fn render_cards(roster: &Roster, out_dir: &Path) -> Result<CardSet, CardError> {
    if roster.entries.is_empty() {
        return Err(CardError::EmptyRoster {
            roster: roster.path.clone(),
        });
    }
    let mut file_names = NameAllocator::default();
    file_names.reserve(PAGE_FILE_NAME);
    let mut cards = Vec::with_capacity(roster.entries.len());
    let mut page_cards = Vec::with_capacity(roster.entries.len());
    let mut warnings = Vec::new();
    for entry in &roster.entries {
        let encode_error = |error: qrcode::types::QrError| CardError::Encode {
            roster: roster.path.clone(),
            line: entry.line,
            id: entry.id.clone(),
            message: error.to_string(),
        };
        let card = render_card(&entry.id, &entry.person.name, CARD_WIDTH).map_err(encode_error)?;
        let where_ = format!("{} line {}", roster.path.display(), entry.line);
        if !card.missing_glyphs.is_empty() {
            let codes: Vec<String> = card
                .missing_glyphs
                .iter()
                .map(|c| format!("U+{:04X}", u32::from(*c)))
                .collect();
            warnings.push(format!(
                "{where_}: the card font lacks {} in {:?}; printed as \u{FFFD} (the QR code is unaffected)",
                codes.join(" "),
                entry.person.name
            ));
        }
        if entry.person.name.chars().any(is_right_to_left) {
            warnings.push(format!(
                "{where_}: {:?} is right-to-left; the card prints its letters unshaped, left to right (the QR code is unaffected)",
                entry.person.name
            ));
        }
        let file_name = file_names.allocate(PathBuf::from(format!(
            "{}-{}.png",
            slug(&entry.id),
            slug(&entry.person.name)
        )));
        let path = out_dir.join(file_name);
        write_png(&card.image, &path)?;
        cards.push(path);
        page_cards.push(
            render_card(&entry.id, &entry.person.name, PAGE_CARD_WIDTH)
                .map_err(encode_error)?
                .image,
        );
    }
    let page = out_dir.join(PAGE_FILE_NAME);
    write_png(&compose_page(&page_cards), &page)?;
    Ok(CardSet {
        cards,
        page,
        warnings,
    })
}

/// Renders one card `width` pixels wide: the QR code of `id` with a wide quiet zone, the name
/// under it (wrapped when long) and the id in small print, inside a light cut line.
pub fn render_card(id: &str, name: &str, width: u32) -> Result<Card, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(id.as_bytes(), EcLevel::Q)?;
    let modules = code.width() as u32;
    let module_px = (width / (modules + 2 * QUIET_MODULES)).max(1);
    let code_side = module_px * (modules + 2 * QUIET_MODULES);
    let code_left = (width.saturating_sub(code_side)) / 2;
    let margin = (width / 20).max(4);
    let text_width = width - 2 * margin;

    let name_text = layout_text(name, text_width, (width / 200).max(1));
    let id_text = layout_text(id, text_width, (width / 600).max(1));
    debug_assert!(name_text.width <= text_width && id_text.width <= text_width);
    let gap = name_text.scale * 4;
    let height = code_left + code_side + name_text.height() + gap + id_text.height() + margin;
    let mut image = GrayImage::from_pixel(width, height, Luma([255]));

    let colors = code.to_colors();
    let code_origin = code_left + QUIET_MODULES * module_px;
    for (index, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (column, row) = (index as u32 % modules, index as u32 / modules);
            fill_rect(
                &mut image,
                code_origin + column * module_px,
                code_origin + row * module_px,
                module_px,
                module_px,
                INK,
            );
        }
    }
    let mut y = code_left + code_side;
    name_text.draw(&mut image, y);
    y += name_text.height() + gap;
    id_text.draw(&mut image, y);

    let line = (width / 600).max(1);
    fill_rect(&mut image, 0, 0, width, line, CUT_LINE);
    fill_rect(&mut image, 0, height - line, width, line, CUT_LINE);
    fill_rect(&mut image, 0, 0, line, height, CUT_LINE);
    fill_rect(&mut image, width - line, 0, line, height, CUT_LINE);

    let mut missing_glyphs = name_text.missing;
    missing_glyphs.extend(id_text.missing);
    missing_glyphs.dedup();
    Ok(Card {
        image,
        missing_glyphs,
    })
}

/// Cards in a grid, [`PAGE_COLUMNS`] to a row, rows as tall as their tallest card.
fn compose_page(cards: &[GrayImage]) -> GrayImage {
    let columns = PAGE_COLUMNS.min(cards.len() as u32).max(1);
    let gap = PAGE_CARD_WIDTH / 30;
    let row_heights: Vec<u32> = cards
        .chunks(columns as usize)
        .map(|row| row.iter().map(GrayImage::height).max().unwrap_or(0))
        .collect();
    let width = columns * PAGE_CARD_WIDTH + (columns + 1) * gap;
    let height = row_heights.iter().map(|h| h + gap).sum::<u32>() + gap;
    let mut page = GrayImage::from_pixel(width, height, Luma([255]));
    let mut top = gap;
    for (row, row_height) in cards.chunks(columns as usize).zip(&row_heights) {
        for (column, card) in row.iter().enumerate() {
            let left = gap + column as u32 * (PAGE_CARD_WIDTH + gap);
            image::imageops::replace(&mut page, card, i64::from(left), i64::from(top));
        }
        top += row_height + gap;
    }
    page
}

fn write_png(image: &GrayImage, path: &Path) -> Result<(), CardError> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|source| CardError::Png {
            path: path.to_path_buf(),
            source,
        })?;
    write_atomically(path, &bytes).map_err(|source| CardError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn fill_rect(image: &mut GrayImage, left: u32, top: u32, width: u32, height: u32, value: Luma<u8>) {
    let right = (left + width).min(image.width());
    let bottom = (top + height).min(image.height());
    for y in top..bottom {
        for x in left..right {
            image.put_pixel(x, y, value);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text

/// Marks drawn over the previous character rather than beside it.
fn is_combining(c: char) -> bool {
    matches!(u32::from(c),
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn is_right_to_left(c: char) -> bool {
    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// A character's glyph, or the replacement glyph when the font lacks it.
fn glyph(c: char) -> (&'static unifont::Glyph, bool) {
    match unifont::get_glyph(c) {
        Some(glyph) => (glyph, true),
        None => match unifont::get_glyph('\u{FFFD}') {
            Some(glyph) => (glyph, false),
            // The replacement character is in every Unifont release; a blank cell otherwise.
            None => (&unifont::Glyph::Halfwidth([0; 16]), false),
        },
    }
}

/// Advance of `c` in font pixels (before scaling).
fn advance(c: char) -> u32 {
    if is_combining(c) {
        0
    } else {
        glyph(c).0.get_width() as u32
    }
}

/// Centred lines of text at an integer scale.
struct TextBlock {
    lines: Vec<Vec<char>>,
    scale: u32,
    width: u32,
    missing: Vec<char>,
}

const GLYPH_HEIGHT: u32 = 16;

impl TextBlock {
    fn line_height(&self) -> u32 {
        GLYPH_HEIGHT * self.scale + self.scale * 3
    }

    fn height(&self) -> u32 {
        self.line_height() * self.lines.len() as u32
    }

    fn draw(&self, image: &mut GrayImage, top: u32) {
        for (number, line) in self.lines.iter().enumerate() {
            let line_width: u32 = line.iter().map(|&c| advance(c)).sum::<u32>() * self.scale;
            let mut x = (image.width().saturating_sub(line_width)) / 2;
            let y = top + number as u32 * self.line_height();
            let mut previous_x = x;
            for &c in line {
                let (glyph, _) = glyph(c);
                let cell_x = if is_combining(c) { previous_x } else { x };
                for row in 0..GLYPH_HEIGHT as usize {
                    for column in 0..glyph.get_width() {
                        if glyph.get_pixel(column, row) {
                            fill_rect(
                                image,
                                cell_x + column as u32 * self.scale,
                                y + row as u32 * self.scale,
                                self.scale,
                                self.scale,
                                INK,
                            );
                        }
                    }
                }
                if !is_combining(c) {
                    previous_x = x;
                    x += glyph.get_width() as u32 * self.scale;
                }
            }
        }
    }
}

/// Lays `text` out within `max_width` pixels: the largest scale up to `max_scale` at which it
/// fits on at most two lines (broken at spaces), else scale 1 wrapped as needed.
fn layout_text(text: &str, max_width: u32, max_scale: u32) -> TextBlock {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
    let mut missing: Vec<char> = Vec::new();
    let mut seen = HashSet::new();
    for &c in &chars {
        if !glyph(c).1 && seen.insert(c) {
            missing.push(c);
        }
    }
    let words: Vec<Vec<char>> = chars
        .split(|c| c.is_whitespace())
        .filter(|word| !word.is_empty())
        .map(<[char]>::to_vec)
        .collect();
    for scale in (1..=max_scale).rev() {
        let limit = max_width / scale;
        if let Some(lines) = wrap_words(&words, limit, false) {
            if lines.len() <= 2 || scale == 1 {
                return TextBlock::new(lines, scale, missing);
            }
        }
    }
    let lines = wrap_words(&words, max_width.max(16), true).unwrap_or_default();
    TextBlock::new(lines, 1, missing)
}

impl TextBlock {
    fn new(lines: Vec<Vec<char>>, scale: u32, missing: Vec<char>) -> Self {
        let width = lines
            .iter()
            .map(|line| line.iter().map(|&c| advance(c)).sum::<u32>() * scale)
            .max()
            .unwrap_or(0);
        Self {
            lines,
            scale,
            width,
            missing,
        }
    }
}

/// Greedy wrap at spaces within `limit` font pixels; `None` if a word is wider than that,
/// unless `break_words`, which then splits it between characters.
fn wrap_words(words: &[Vec<char>], limit: u32, break_words: bool) -> Option<Vec<Vec<char>>> {
    let width = |chars: &[char]| chars.iter().map(|&c| advance(c)).sum::<u32>();
    let mut lines: Vec<Vec<char>> = Vec::new();
    let mut line: Vec<char> = Vec::new();
    for word in words {
        let candidate_width = if line.is_empty() {
            width(word)
        } else {
            width(&line) + advance(' ') + width(word)
        };
        if candidate_width <= limit {
            if !line.is_empty() {
                line.push(' ');
            }
            line.extend(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if width(word) <= limit {
            line.extend(word);
            continue;
        }
        if !break_words {
            return None;
        }
        for &c in word {
            if !line.is_empty() && width(&line) + advance(c) > limit && !is_combining(c) {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::read_slate;

    fn to_rgb(image: &GrayImage) -> image::RgbImage {
        image::RgbImage::from_fn(image.width(), image.height(), |x, y| {
            let v = image.get_pixel(x, y)[0];
            image::Rgb([v, v, v])
        })
    }

    #[test]
    fn a_card_reads_back_its_id() {
        for (id, name) in [
            ("A0042", "Seán O'Brien"),
            ("7", "李小龍"),
            ("id-with-a-long-tail-0001", "Stéphane Jolicoeur-Fidelia"),
        ] {
            let card = render_card(id, name, CARD_WIDTH).unwrap();
            assert_eq!(card.image.width(), CARD_WIDTH);
            assert!(
                card.missing_glyphs.is_empty(),
                "{name}: {:?}",
                card.missing_glyphs
            );
            assert_eq!(read_slate(&to_rgb(&card.image)).as_deref(), Some(id));
        }
    }

    #[test]
    fn missing_glyphs_are_reported_not_hidden() {
        let card = render_card("1", "Ann 🙂", 600).unwrap();
        assert_eq!(card.missing_glyphs, ['🙂']);
    }

    #[test]
    fn long_names_wrap_and_stay_inside_the_card() {
        let name =
            "Maria del Carmen Fernández de la Concepción Rodríguez-Villanueva y Santísima Trinidad";
        let block = layout_text(name, 1080, 6);
        assert!(block.width <= 1080, "{}", block.width);
        assert!(block.lines.len() >= 2);
        let unbroken = layout_text(&"x".repeat(400), 1080, 6);
        assert!(unbroken.width <= 1080 && unbroken.scale == 1);
    }
}
