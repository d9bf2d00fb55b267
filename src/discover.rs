//! Finds the photos to process: files and folders from the command line, recognised by content.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use walkdir::WalkDir;

use crate::error::ConfigError;

/// Image formats headshot decodes, recognised by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
    Tiff,
}

impl ImageFormat {
    /// Recognises a format from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
            Some(Self::Tiff)
        } else {
            None
        }
    }
}

/// One input photo.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The path as given (a named file) or joined under the given folder.
    pub path: PathBuf,
    /// Path relative to the folder it was found in (the file name for a named file).
    pub relative: PathBuf,
    /// `None` when the content is not a recognised image; the photo is then reported failed.
    pub format: Option<ImageFormat>,
}

/// Everything found under the inputs.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<InputFile>,
    /// Files passed over in folders, with the reason (raw files, non-images, sidecars, link
    /// loops, folders and files reached twice through links).
    pub ignored: Vec<(PathBuf, String)>,
}

/// Extensions of camera raw files: TIFF-based ones would sniff as TIFF but are not ours to decode.
const RAW_EXTENSIONS: &[&str] = &[
    "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "dng", "orf", "rw2", "raf", "pef",
    "srw", "3fr", "iiq", "erf", "kdc", "mos", "rwl", "x3f",
];

/// Extensions that promise an image: such a file that does not sniff as one is reported, not ignored.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "jpe", "png", "tif", "tiff"];

fn extension_of(path: &Path) -> String {
    path.extension()
        .map(|ext| ext.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

fn sniff_file(path: &Path) -> std::io::Result<Option<ImageFormat>> {
    let mut head = [0u8; 8];
    let mut file = fs::File::open(path)?;
    let mut filled = 0;
    while filled < head.len() {
        let read = file.read(&mut head[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(ImageFormat::sniff(&head[..filled]))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .map(|name| name.to_string_lossy().starts_with('.'))
        .unwrap_or(false)
}

/// Walks the inputs. `output_dir` is skipped wherever it appears below an input folder.
///
/// Named files are always taken (a non-image among them is reported failed later); inside
/// folders, hidden entries, raw files and files that are neither images by content nor by
/// extension are ignored and listed.
pub fn discover(inputs: &[PathBuf], output_dir: &Path) -> Result<Discovery, ConfigError> {
    let output_canonical = fs::canonicalize(output_dir).ok();
    let mut discovery = Discovery::default();
    for input in inputs {
        let metadata = fs::metadata(input).map_err(|source| ConfigError::Io {
            path: input.clone(),
            source,
        })?;
        if metadata.is_dir() {
            let canonical = fs::canonicalize(input).map_err(|source| ConfigError::Io {
                path: input.clone(),
                source,
            })?;
            if let Some(output) = &output_canonical {
                if output == &canonical || canonical.starts_with(output) {
                    return Err(ConfigError::Usage(format!(
                        "the output folder {} is (or contains) the input folder {}; choose an output folder outside the shoot",
                        output_dir.display(),
                        input.display()
                    )));
                }
            }
            walk_folder(input, output_canonical.as_deref(), &mut discovery)?;
        } else {
            let format = sniff_file(input).ok().flatten();
            let relative = input
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| input.clone());
            discovery.files.push(InputFile {
                path: input.clone(),
                relative,
                format,
            });
        }
    }
    Ok(discovery)
}

/// Walks one input folder with `walkdir`, following links to files and folders.
///
/// A folder is walked once however many links lead to it (its canonical path is remembered),
/// and a link back to a folder above it (a loop) is reported in `ignored`, never followed.
fn walk_folder(
    root: &Path,
    output_canonical: Option<&Path>,
    discovery: &mut Discovery,
) -> Result<(), ConfigError> {
    let mut walked: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(next) = walker.next() {
        let entry = match next {
            Ok(entry) => entry,
            Err(error) => {
                skip_walk_error(root, error, discovery)?;
                continue;
            }
        };
        let path = entry.path().to_path_buf();
        if entry.depth() > 0 && is_hidden(&path) {
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
            continue;
        }
        let canonical = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if entry.file_type().is_dir() {
            if Some(canonical.as_path()) == output_canonical {
                walker.skip_current_dir();
            } else if let Some(first) = walked.get(&canonical) {
                discovery
                    .ignored
                    .push((path, format!("same folder as {}", first.display())));
                walker.skip_current_dir();
            } else {
                walked.insert(canonical, path);
            }
            continue;
        }
        if let Some(first) = walked.get(&canonical) {
            // A link to a photo already found would make its outputs twice.
            discovery
                .ignored
                .push((path, format!("same file as {}", first.display())));
            continue;
        }
        walked.insert(canonical, path.clone());
        take_file(root, path, discovery);
    }
    Ok(())
}

/// A walk error below the root is one thing skipped; at the root, nothing can be walked.
fn skip_walk_error(
    root: &Path,
    error: walkdir::Error,
    discovery: &mut Discovery,
) -> Result<(), ConfigError> {
    let path = error.path().unwrap_or(root).to_path_buf();
    if error.depth() == 0 {
        let source = error
            .into_io_error()
            .unwrap_or_else(|| std::io::Error::other("cannot walk the folder"));
        return Err(ConfigError::Io { path, source });
    }
    if is_hidden(&path) {
        return Ok(());
    }
    let reason = match error.loop_ancestor() {
        Some(ancestor) => format!(
            "link loop: leads back to {}, which is already being walked",
            ancestor.display()
        ),
        None => "unreadable (broken link?)".to_string(),
    };
    discovery.ignored.push((path, reason));
    Ok(())
}

/// Takes a file found in a folder, or lists it as ignored (raw files, non-images).
fn take_file(root: &Path, path: PathBuf, discovery: &mut Discovery) {
    let extension = extension_of(&path);
    if RAW_EXTENSIONS.contains(&extension.as_str()) {
        discovery.ignored.push((
            path,
            "camera raw file (headshot reads JPEG, PNG and TIFF)".to_string(),
        ));
        return;
    }
    let format = sniff_file(&path).ok().flatten();
    if format.is_none() && !IMAGE_EXTENSIONS.contains(&extension.as_str()) {
        discovery.ignored.push((path, "not an image".to_string()));
        return;
    }
    let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
    discovery.files.push(InputFile {
        path,
        relative,
        format,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_by_content() {
        assert_eq!(
            ImageFormat::sniff(b"\xff\xd8\xff\xe1xx"),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"\x89PNG\r\n\x1a\n"),
            Some(ImageFormat::Png)
        );
        assert_eq!(ImageFormat::sniff(b"II*\0...."), Some(ImageFormat::Tiff));
        assert_eq!(ImageFormat::sniff(b"MM\0*...."), Some(ImageFormat::Tiff));
        assert_eq!(ImageFormat::sniff(b"GIF89a"), None);
        assert_eq!(ImageFormat::sniff(b""), None);
    }

    #[test]
    fn walks_folders_skipping_hidden_raw_output_and_non_images() {
        let shoot = tempfile::tempdir().unwrap();
        let root = shoot.path();
        fs::create_dir_all(root.join("day1/.cache")).unwrap();
        fs::create_dir_all(root.join("gallery")).unwrap();
        fs::write(root.join("day1/no_extension"), b"\xff\xd8\xff\xe0 jpeg").unwrap();
        fs::write(root.join("day1/.hidden.jpg"), b"\xff\xd8\xff").unwrap();
        fs::write(root.join("day1/.cache/x.jpg"), b"\xff\xd8\xff").unwrap();
        fs::write(root.join("day1/IMG_1.CR2"), b"II*\0raw").unwrap();
        fs::write(root.join("notes.txt"), b"hello").unwrap();
        fs::write(root.join("broken.JPG"), b"").unwrap();
        fs::write(root.join("gallery/old_large.jpg"), b"\xff\xd8\xff").unwrap();
        let refused = discover(&[root.to_path_buf()], root).unwrap_err();
        assert!(refused.to_string().contains("output folder"), "{refused}");

        let out = tempfile::tempdir().unwrap();
        let found = discover(&[root.to_path_buf()], out.path()).unwrap();
        let relatives: Vec<_> = found.files.iter().map(|f| f.relative.clone()).collect();
        assert_eq!(
            relatives,
            vec![
                PathBuf::from("broken.JPG"),
                PathBuf::from("day1/no_extension"),
                PathBuf::from("gallery/old_large.jpg"),
            ]
        );
        assert_eq!(found.files[0].format, None);
        assert_eq!(found.files[1].format, Some(ImageFormat::Jpeg));
        assert_eq!(found.ignored.len(), 2);
    }

    #[test]
    fn skips_output_folder_nested_in_the_shoot() {
        let shoot = tempfile::tempdir().unwrap();
        let root = shoot.path();
        fs::create_dir_all(root.join("out")).unwrap();
        fs::write(root.join("a.jpg"), b"\xff\xd8\xff").unwrap();
        fs::write(root.join("out/a_large.jpg"), b"\xff\xd8\xff").unwrap();
        let found = discover(&[root.to_path_buf()], &root.join("out")).unwrap();
        assert_eq!(found.files.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_but_loops_and_second_visits_are_skipped() {
        use std::os::unix::fs::symlink;
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("shoot");
        let other = top.path().join("other");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&other).unwrap();
        fs::write(root.join("a.jpg"), b"\xff\xd8\xff").unwrap();
        fs::write(root.join("b.jpg"), b"\xff\xd8\xff").unwrap();
        fs::write(other.join("c.jpg"), b"\xff\xd8\xff").unwrap();
        symlink("..", root.join("loop")).unwrap();
        symlink(&other, root.join("other-1")).unwrap();
        symlink(&other, root.join("other-2")).unwrap();
        symlink(root.join("a.jpg"), root.join("z-link.jpg")).unwrap();
        symlink(&root, other.join("back")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let found = discover(std::slice::from_ref(&root), out.path()).unwrap();
        let relatives: Vec<_> = found.files.iter().map(|f| f.relative.clone()).collect();
        assert_eq!(
            relatives,
            vec![
                PathBuf::from("a.jpg"),
                PathBuf::from("b.jpg"),
                PathBuf::from("other-1/c.jpg"),
            ]
        );
        let reasons: Vec<(PathBuf, &str)> = found
            .ignored
            .iter()
            .map(|(path, reason)| {
                let relative = path.strip_prefix(&root).unwrap().to_path_buf();
                (relative, reason.split(':').next().unwrap_or_default())
            })
            .collect();
        assert_eq!(
            reasons,
            vec![
                (PathBuf::from("loop"), "link loop"),
                (PathBuf::from("other-1/back"), "link loop"),
                (PathBuf::from("other-2"), reasons[2].1),
                (PathBuf::from("z-link.jpg"), reasons[3].1),
            ]
        );
        assert!(reasons[2].1.starts_with("same folder as"), "{reasons:?}");
        assert!(reasons[3].1.starts_with("same file as"), "{reasons:?}");
    }
}
