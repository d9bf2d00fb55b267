//! Photo Mechanic code replacements (`--codes FILE`): short codes a volunteer types or a slate
//! carries (`=j23=`, or `j23` as a whole field) that stand for a name.
//!
//! The file is Photo Mechanic's own: one `code<TAB>replacement<TAB>more…` per line, blank lines
//! and lines starting with `#` ignored. `=code=` takes the first replacement, `=code#2=` the
//! second. Codes are case-sensitive, as Photo Mechanic's are by default.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A code file, read and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeReplacements {
    pub path: PathBuf,
    /// Code -> its replacements (at least one).
    codes: HashMap<String, Vec<String>>,
}

/// A problem with the code file, or a code that is not in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("{}:{line}: {message}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// `=code=` (or `=code#2=`) found in a field that the code file does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown code ={code}= (not in {})", codes.display())]
pub struct UnknownCode {
    pub code: String,
    pub codes: PathBuf,
}

impl CodeReplacements {
    pub fn load(path: &Path) -> Result<Self, CodeError> {
        let bytes = fs::read(path).map_err(|error| CodeError::File {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|error| CodeError::Line {
            path: path.to_path_buf(),
            line: line_of(error.as_bytes(), error.utf8_error().valid_up_to()),
            message: "not UTF-8 (save the code file as UTF-8)".to_string(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses the file's text; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, CodeError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut codes: HashMap<String, Vec<String>> = HashMap::new();
        let mut first_line: HashMap<String, u64> = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index as u64 + 1;
            let error = |message: String| CodeError::Line {
                path: path.to_path_buf(),
                line,
                message,
            };
            let raw = raw.trim_end_matches('\r');
            if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            let mut columns = raw.split('\t');
            let code = columns.next().unwrap_or_default().trim();
            let replacements: Vec<String> = columns.map(|c| c.trim().to_string()).collect();
            if code.is_empty() || code.contains(['=', ' ']) {
                return Err(error(format!(
                    "{code:?} is not a code (no spaces or '=' in a code)"
                )));
            }
            if replacements.first().is_none_or(|first| first.is_empty()) {
                return Err(error(format!(
                    "code {code:?} has no replacement (code and name are separated by a tab)"
                )));
            }
            if let Some(first) = first_line.get(code) {
                return Err(error(format!("code {code:?} is already on line {first}")));
            }
            first_line.insert(code.to_string(), line);
            codes.insert(code.to_string(), replacements);
        }
        Ok(Self {
            path: path.to_path_buf(),
            codes,
        })
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// What a whole name field stands for: `=j23=`, `=j23#2=` or a bare `j23` that is a known
    /// code; `None` when the field is not one code (for the desk's name field).
    pub fn expand_code(&self, field: &str) -> Option<&str> {
        let field = field.trim();
        let inner = field
            .strip_prefix('=')
            .and_then(|rest| rest.strip_suffix('='))
            .filter(|inner| !inner.is_empty())
            .unwrap_or(field);
        self.lookup(inner)
    }

    /// `field` with every `=code=` replaced, or the replacement when the whole field is a bare
    /// known code; an `=code=` the file does not know is an error.
    pub fn expand<'a>(&self, field: &'a str) -> Result<Cow<'a, str>, UnknownCode> {
        if let Some(whole) = self.lookup(field.trim()) {
            return Ok(Cow::Owned(whole.to_string()));
        }
        let mut expanded = String::new();
        let mut rest = field;
        let mut changed = false;
        while let Some((before, code, after)) = next_code(rest) {
            let replacement = self.lookup(code).ok_or_else(|| UnknownCode {
                code: code.to_string(),
                codes: self.path.clone(),
            })?;
            expanded.push_str(before);
            expanded.push_str(replacement);
            rest = after;
            changed = true;
        }
        if !changed {
            return Ok(Cow::Borrowed(field));
        }
        expanded.push_str(rest);
        Ok(Cow::Owned(expanded))
    }

    /// `code` or `code#N` (the Nth replacement, from 1).
    fn lookup(&self, code: &str) -> Option<&str> {
        let (code, column) = match code.rsplit_once('#') {
            Some((code, number)) => (code, number.parse::<usize>().ok()?.checked_sub(1)?),
            None => (code, 0),
        };
        self.codes
            .get(code)?
            .get(column)
            .map(String::as_str)
            .filter(|replacement| !replacement.is_empty())
    }
}

/// The first `=code=` in `text`: (text before, code, text after). A code has no spaces.
fn next_code(text: &str) -> Option<(&str, &str, &str)> {
    let mut search_from = 0;
    while let Some(open) = text[search_from..].find('=').map(|at| at + search_from) {
        let after_open = &text[open + 1..];
        let close = after_open.find('=')?;
        let code = &after_open[..close];
        if !code.is_empty() && !code.contains(char::is_whitespace) {
            return Some((&text[..open], code, &after_open[close + 1..]));
        }
        search_from = open + 1;
    }
    None
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> CodeReplacements {
        CodeReplacements::parse(
            Path::new("codes.txt"),
            "# PM codes\n\nj23\tJane Doe\tAcme\nk7\tKai Ōta\r\n",
        )
        .unwrap()
    }

    #[test]
    fn whole_fields_and_embedded_codes_expand() {
        let codes = codes();
        assert_eq!(codes.len(), 2);
        assert_eq!(codes.expand_code("=j23="), Some("Jane Doe"));
        assert_eq!(codes.expand_code(" j23 "), Some("Jane Doe"));
        assert_eq!(codes.expand_code("=j23#2="), Some("Acme"));
        assert_eq!(codes.expand_code("k7"), Some("Kai Ōta"));
        assert_eq!(codes.expand_code("J23"), None);
        assert_eq!(codes.expand_code("Jane"), None);
        assert_eq!(codes.expand("j23").unwrap(), "Jane Doe");
        assert_eq!(
            codes.expand("=j23= and =k7=, speakers").unwrap(),
            "Jane Doe and Kai Ōta, speakers"
        );
        assert!(matches!(
            codes.expand("Ann Lee"),
            Ok(Cow::Borrowed("Ann Lee"))
        ));
        assert_eq!(codes.expand("a = b = c").unwrap(), "a = b = c");
        let unknown = codes.expand("=x9=").unwrap_err();
        assert_eq!(unknown.to_string(), "unknown code =x9= (not in codes.txt)");
    }

    #[test]
    fn bad_lines_name_the_line() {
        for (text, expected) in [
            (
                "j23\tJane\nj23\tJoe\n",
                "codes.txt:2: code \"j23\" is already on line 1",
            ),
            ("# c\nj23 Jane\n", "codes.txt:2:"),
            ("k1\t\n", "codes.txt:1:"),
        ] {
            let error = CodeReplacements::parse(Path::new("codes.txt"), text).unwrap_err();
            assert!(error.to_string().starts_with(expected), "{text:?}: {error}");
        }
    }
}
