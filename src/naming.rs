//! Output file names: templates like `{stem}_{derivative}.jpg`, expanded per photo, never colliding.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::encode::OutputFormat;
use crate::error::ConfigError;

/// Tokens a template may use, with what they expand to (for error messages and `--help`).
pub const TOKENS: &[(&str, &str)] = &[
    ("stem", "source file name without extension"),
    ("derivative", "derivative name, e.g. large or thumb"),
    ("seq", "position in capture order, zero-padded"),
    ("date", "capture date, YYYY-MM-DD"),
    ("time", "capture time, HH-MM-SS"),
    ("event", "event name from the shoot file"),
    ("name", "the person's name, slugged"),
    ("person_seq", "the photo's number within its person"),
    ("ext", "file extension of the output format"),
];

/// The default template: `{stem}_{derivative}.{ext}`.
pub const DEFAULT_TEMPLATE: &str = "{stem}_{derivative}.{ext}";

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    Token(String),
}

/// Refuses a template that names a derivative's files with another format's extension (a
/// WebP written as `.jpg`); `{ext}`, or an extension that is no image format's, is fine.
pub fn check_template_extension(
    derivative: &str,
    format: OutputFormat,
    template: &str,
) -> Result<(), ConfigError> {
    match literal_extension(template) {
        Some(extension) if !format.fits_extension(extension) => Err(ConfigError::Usage(format!(
            "derivative {derivative:?} is written as {} but the template {template:?} names it .{extension}; use {{ext}} (gives .{}) or change format",
            format.name(),
            format.extension()
        ))),
        _ => Ok(()),
    }
}

/// The extension a template writes literally (`"jpg"` for `"{stem}_{derivative}.jpg"`), or
/// `None` when it ends in a token such as `{ext}`.
fn literal_extension(template: &str) -> Option<&str> {
    let (_, extension) = template.rsplit_once('.')?;
    let literal = !extension.is_empty() && !extension.contains(['{', '}', '/']);
    literal.then_some(extension)
}

/// A parsed file-name template.
#[derive(Debug, Clone, PartialEq)]
pub struct NameTemplate {
    source: String,
    pieces: Vec<Piece>,
}

/// Values for one photo and derivative.
#[derive(Debug, Clone, Default)]
pub struct NameValues<'a> {
    pub stem: &'a str,
    pub derivative: &'a str,
    pub seq: usize,
    pub seq_width: usize,
    pub date: Option<&'a str>,
    pub time: Option<&'a str>,
    pub event: Option<&'a str>,
    pub name: Option<&'a str>,
    pub person_seq: Option<usize>,
    /// The person's extra columns (company, id…), for `{column}` tokens; `(header, value)`.
    pub columns: &'a [(String, String)],
    pub ext: &'a str,
}

impl NameTemplate {
    /// Parses a template, rejecting unknown tokens, unbalanced braces and paths that escape the output folder.
    pub fn parse(template: &str) -> Result<Self, ConfigError> {
        Self::parse_with_columns(template, &[])
    }

    /// Like [`NameTemplate::parse`], also accepting the names sheet's extra `columns` as tokens
    /// (matched ignoring case), e.g. `{company}/{name}_{person_seq}.{ext}`.
    pub fn parse_with_columns(template: &str, columns: &[String]) -> Result<Self, ConfigError> {
        let error =
            |message: String| ConfigError::Usage(format!("template {template:?}: {message}"));
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = template.chars();
        while let Some(c) = chars.next() {
            match c {
                '{' => {
                    let mut token = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        token.push(c);
                    }
                    if !closed {
                        return Err(error(format!("'{{{token}' is missing its closing '}}'")));
                    }
                    let is_column = columns.iter().any(|c| c.eq_ignore_ascii_case(&token));
                    if !TOKENS.iter().any(|(name, _)| *name == token) && !is_column {
                        let allowed: Vec<String> = TOKENS
                            .iter()
                            .map(|(name, _)| name.to_string())
                            .chain(columns.iter().cloned())
                            .map(|name| format!("{{{name}}}"))
                            .collect();
                        return Err(error(format!(
                            "unknown token {{{token}}}; allowed: {}",
                            allowed.join(" ")
                        )));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Token(token));
                }
                '}' => return Err(error("'}' without a matching '{'".to_string())),
                '\\' => return Err(error("use '/' to make folders".to_string())),
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        if template.starts_with('/') || template.split('/').any(|part| part == "..") {
            return Err(error(
                "must stay inside the output folder (no leading '/', no '..')".to_string(),
            ));
        }
        if !pieces
            .iter()
            .any(|piece| matches!(piece, Piece::Token(t) if t == "derivative"))
            && !pieces.iter().any(
                |piece| matches!(piece, Piece::Token(t) if t == "stem" || t == "seq" || t == "person_seq"),
            )
        {
            return Err(error(
                "needs {stem}, {seq} or {person_seq} so photos get distinct names".to_string(),
            ));
        }
        Ok(Self {
            source: template.to_string(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template mentions `{derivative}` (else one is appended so derivatives differ).
    pub fn uses(&self, token: &str) -> bool {
        self.pieces
            .iter()
            .any(|piece| matches!(piece, Piece::Token(t) if t == token))
    }

    /// Expands the template into a relative path. Token values are made file-name safe.
    pub fn render(&self, values: &NameValues) -> PathBuf {
        let mut rendered = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => rendered.push_str(text),
                Piece::Token(token) => {
                    let value = match token.as_str() {
                        "stem" => values.stem.to_string(),
                        "derivative" => values.derivative.to_string(),
                        "seq" => format!("{:0width$}", values.seq, width = values.seq_width),
                        "date" => values.date.unwrap_or("undated").to_string(),
                        "time" => values.time.unwrap_or("untimed").to_string(),
                        "event" => values
                            .event
                            .map(slug)
                            .unwrap_or_else(|| "event".to_string()),
                        "name" => values
                            .name
                            .map(slug)
                            .unwrap_or_else(|| "unnamed".to_string()),
                        "person_seq" => values
                            .person_seq
                            .map(|n| format!("{n:02}"))
                            .unwrap_or_else(|| "00".to_string()),
                        "ext" => values.ext.to_string(),
                        column => values
                            .columns
                            .iter()
                            .find(|(header, _)| header.eq_ignore_ascii_case(column))
                            .map(|(_, value)| slug(value))
                            .filter(|value| !value.is_empty())
                            .unwrap_or_else(|| format!("no-{}", slug(column))),
                    };
                    rendered.push_str(&safe_component(&value));
                }
            }
        }
        PathBuf::from(rendered)
    }
}

/// Replaces characters that are unsafe in file names on common systems.
fn safe_component(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

/// ASCII slug of a name: `Stéphane O'Brien` -> `stephane-obrien`, `Анна Петрова` ->
/// `anna-petrova`, `李小龍` -> `li-xiao-long`. Any script is transliterated by `deunicode`;
/// the manifest and the photos' metadata keep the exact name.
pub fn slug(text: &str) -> String {
    let mut slug = String::new();
    // Spaces and dashes separate words; other marks (O'Brien, AT&T) join them.
    for c in deunicode::deunicode(text).chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if (c.is_whitespace() || c == '-' || c == '_' || c == '.')
            && !slug.is_empty()
            && !slug.ends_with('-')
        {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        // Nothing transliterates (symbols only): a stable form, the exact name is in the manifest.
        let code: u32 = text
            .chars()
            .fold(0u32, |hash, c| hash.wrapping_mul(31).wrapping_add(c as u32));
        slug = format!("person-{code:08x}");
    }
    slug
}

/// Hands out output paths, adding `-2`, `-3`, ... before the extension when a name is taken.
///
/// Names are compared case-insensitively, since macOS and Windows folders are.
#[derive(Debug, Default)]
pub struct NameAllocator {
    taken: HashSet<String>,
}

impl NameAllocator {
    /// Reserves a path that must never be handed out (e.g. `manifest.json`).
    pub fn reserve(&mut self, path: &str) {
        self.taken.insert(path.to_lowercase());
    }

    /// Returns `wanted`, or the first free `stem-N.ext` variant of it.
    pub fn allocate(&mut self, wanted: PathBuf) -> PathBuf {
        let key = |path: &PathBuf| path.to_string_lossy().to_lowercase();
        if self.taken.insert(key(&wanted)) {
            return wanted;
        }
        let stem = wanted
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let extension = wanted
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        for counter in 2.. {
            let candidate = wanted.with_file_name(format!("{stem}-{counter}{extension}"));
            if self.taken.insert(key(&candidate)) {
                return candidate;
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(stem: &'a str, derivative: &'a str) -> NameValues<'a> {
        NameValues {
            stem,
            derivative,
            seq: 7,
            seq_width: 4,
            date: Some("2024-05-03"),
            time: Some("14-03-22"),
            ext: "jpg",
            ..NameValues::default()
        }
    }

    #[test]
    fn renders_every_token() {
        let template =
            NameTemplate::parse("{date}/{seq}_{stem}_{time}_{derivative}.{ext}").unwrap();
        assert_eq!(
            template.render(&values("IMG_0042", "large")),
            PathBuf::from("2024-05-03/0007_IMG_0042_14-03-22_large.jpg")
        );
        let default = NameTemplate::parse(DEFAULT_TEMPLATE).unwrap();
        assert_eq!(
            default.render(&values("IMG_0042", "thumb")),
            PathBuf::from("IMG_0042_thumb.jpg")
        );
    }

    #[test]
    fn missing_capture_time_has_a_readable_placeholder() {
        let template = NameTemplate::parse("{date}_{stem}.{ext}").unwrap();
        let mut undated = values("a", "large");
        undated.date = None;
        assert_eq!(template.render(&undated), PathBuf::from("undated_a.jpg"));
    }

    #[test]
    fn finds_a_literal_extension() {
        assert_eq!(literal_extension("{stem}_{derivative}.jpg"), Some("jpg"));
        assert_eq!(literal_extension("{date}/{stem}.JPEG"), Some("JPEG"));
        assert_eq!(literal_extension(DEFAULT_TEMPLATE), None);
        assert_eq!(literal_extension("{stem}_{derivative}"), None);
        assert_eq!(literal_extension("v1.2/{stem}"), None);
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "{stem",
            "{colour}_{stem}",
            "../{stem}",
            "/abs/{stem}",
            "{stem}}",
            "{date}.jpg",
        ] {
            assert!(
                NameTemplate::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
        let message = NameTemplate::parse("{colour}").unwrap_err().to_string();
        assert!(
            message.contains("{colour}") && message.contains("{stem}"),
            "{message}"
        );
    }

    #[test]
    fn names_and_columns_render_slugged() {
        let columns = vec![("company".to_string(), "O'Brien & Sons".to_string())];
        let template = NameTemplate::parse_with_columns(
            "{Company}/{name}_{person_seq}.{ext}",
            &["company".to_string()],
        )
        .unwrap();
        let mut named = values("IMG_1", "large");
        named.name = Some("Seán O'Brien");
        named.person_seq = Some(3);
        named.columns = &columns;
        assert_eq!(
            template.render(&named),
            PathBuf::from("obrien-sons/sean-obrien_03.jpg")
        );
        let unnamed = values("IMG_2", "large");
        assert_eq!(
            template.render(&unnamed),
            PathBuf::from("no-company/unnamed_00.jpg")
        );
        assert!(NameTemplate::parse("{company}_{stem}").is_err());
    }

    #[test]
    fn token_values_cannot_make_folders() {
        let template = NameTemplate::parse("{stem}.{ext}").unwrap();
        assert_eq!(
            template.render(&values("a/b:c", "x")),
            PathBuf::from("a_b_c.jpg")
        );
    }

    #[test]
    fn collisions_get_distinct_names_case_insensitively() {
        let mut names = NameAllocator::default();
        names.reserve("manifest.json");
        assert_eq!(
            names.allocate("IMG_1_large.jpg".into()),
            PathBuf::from("IMG_1_large.jpg")
        );
        assert_eq!(
            names.allocate("img_1_large.JPG".into()),
            PathBuf::from("img_1_large-2.JPG")
        );
        assert_eq!(
            names.allocate("IMG_1_large.jpg".into()),
            PathBuf::from("IMG_1_large-3.jpg")
        );
        assert_eq!(
            names.allocate("manifest.json".into()),
            PathBuf::from("manifest-2.json")
        );
        assert_eq!(names.allocate("d/x.jpg".into()), PathBuf::from("d/x.jpg"));
        assert_eq!(names.allocate("d/x.jpg".into()), PathBuf::from("d/x-2.jpg"));
    }

    #[test]
    fn slugs_are_ascii_and_stable() {
        assert_eq!(
            slug("Stéphane Jolicoeur-Fidelia"),
            "stephane-jolicoeur-fidelia"
        );
        assert_eq!(slug("Seán O'Brien"), "sean-obrien");
        assert_eq!(slug("Seán O’Brien"), "sean-obrien");
        assert_eq!(slug("Ærøskøbing Weiß"), "aeroskobing-weiss");
        assert_eq!(slug("Анна Петрова"), "anna-petrova");
        assert_eq!(slug("Γιώργος Παπαδόπουλος"), "giorgos-papadopoulos");
        assert_eq!(slug("李小龍"), "li-xiao-long");
        assert_eq!(slug("  Ada   (keynote) "), "ada-keynote");
        assert!(slug("★☆").starts_with("person-"), "{}", slug("★☆"));
        assert_ne!(slug("★☆"), slug("☆★"));
    }
}
