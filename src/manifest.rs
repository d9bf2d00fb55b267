//! The run's record: `manifest.json`, one entry per input photo, versioned for uploaders and scripts,
//! and `manifest.csv`, one row per output file, for uploaders and spreadsheets.

use serde::{Deserialize, Serialize};

use crate::discover::ImageFormat;
use crate::encode::OutputFormat;
use crate::error::Stage;
use crate::names::{AssignedBy, Person, Review, Role};

/// Bumped whenever a field changes meaning or goes away (adding fields does not bump it).
pub const MANIFEST_VERSION: u32 = 1;

/// What became of one input photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
}

/// Exposure settings as recorded by the camera.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exposure {
    pub exposure_time: Option<String>,
    pub f_number: Option<f64>,
    pub iso: Option<u32>,
    pub focal_length: Option<f64>,
}

/// One file written for a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub derivative: String,
    /// Relative to the output folder, with `/` separators.
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// `jpeg`, `webp` or `avif`.
    #[serde(default)]
    pub format: OutputFormat,
    /// The encoder quality used: the derivative's, or lower when `max_bytes` asked for it.
    #[serde(default)]
    pub quality: u8,
    /// The crop this output was cut from.
    pub crop: CropRecord,
}

/// A crop rectangle in upright source pixels (with the rotation applied before cutting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CropRecord {
    pub x: i64,
    pub y: i64,
    pub width: u32,
    pub height: u32,
    pub rotation_degrees: f64,
    /// The anchor that placed it (the preset's, or its fallback).
    pub anchor: String,
}

impl CropRecord {
    pub fn from_plan(plan: &crate::crop::CropPlan) -> Self {
        Self {
            x: plan.rect.x,
            y: plan.rect.y,
            width: plan.rect.width,
            height: plan.rect.height,
            rotation_degrees: plan.rotation_degrees,
            anchor: plan.anchor_used.to_string(),
        }
    }
}

/// One input photo's manifest entry.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoRecord {
    /// The path as given on the command line (or joined under a given folder).
    pub source: String,
    pub status: Status,
    pub error: Option<String>,
    pub error_stage: Option<Stage>,
    pub warnings: Vec<String>,
    pub format: Option<ImageFormat>,
    /// Upright pixel size of the source (after orientation).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub orientation: u8,
    pub capture_time: Option<String>,
    pub camera: Option<String>,
    /// Which camera body took it: its serial number, else make, model and folder. Slates and
    /// `first_file` rows name the following frames of the same `camera_id` only.
    pub camera_id: Option<String>,
    /// Who took it: the credit its folder's shoot file, its camera's table or `--credit` gives.
    pub photographer: Option<String>,
    pub lens: Option<String>,
    pub exposure: Exposure,
    /// The presets this photo was processed with (a derivative may override the crop: see its `crop`).
    pub presets: PresetsUsed,
    /// The shoot crop's rectangle in upright source pixels (the first derivative's crop).
    pub crop: Option<CropRecord>,
    /// Why a person should look at this photo (e.g. no face found for a face crop).
    pub needs_review: Option<String>,
    /// `portrait` (gets derivatives) or `slate` (a QR card naming the frames after it).
    pub role: Role,
    /// Who is in the photo, with the sheet's extra columns; `null` when unnamed.
    pub person: Option<Person>,
    /// Which rule named the photo: the sheet layout and line, or the slate.
    pub assigned_by: Option<AssignedBy>,
    /// 1-based number of this photo among the same person's photos.
    pub person_seq: Option<usize>,
    /// Faces found, in upright source pixels (empty when detection did not run or found none).
    pub faces: Vec<FaceRecord>,
    /// Unnamed photos showing the same face share a group (`face-1`...); `null` otherwise.
    pub face_group: Option<String>,
    /// Exposure change (EV) the tone preset's `face_exposure` gave this photo.
    pub face_exposure_ev: Option<f32>,
    /// The title written into the outputs (XMP dc:title); `null` when unnamed.
    pub title: Option<String>,
    /// The caption written into the outputs (XMP dc:description).
    pub caption: Option<String>,
    /// The keywords written into the outputs (XMP dc:subject).
    pub keywords: Vec<String>,
    pub outputs: Vec<OutputRecord>,
    /// XXH3-64 of the source bytes read this run (for the re-run state; not in the manifest).
    #[serde(skip)]
    pub source_xxh3: Option<u64>,
}

impl PhotoRecord {
    /// The title for uploaders: the record's own, else the person's name.
    pub fn display_title(&self) -> Option<&str> {
        self.title
            .as_deref()
            .or(self.person.as_ref().map(|person| person.name.as_str()))
    }
}

/// One detected face, in upright source pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRecord {
    /// `[x, y, width, height]`.
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
    pub score: f64,
    /// `[[x, y], [x, y]]`: the eye on the image's left, then the one on its right.
    pub eyes: [[f64; 2]; 2],
}

impl FaceRecord {
    /// Rounded to a tenth of a pixel: detector noise below that means nothing.
    pub fn from_face(face: &crate::faces::Face) -> Self {
        let round = |value: f32| (f64::from(value) * 10.0).round() / 10.0;
        let [x, y, width, height] = face.bbox;
        let [[left_x, left_y], [right_x, right_y]] = face.eyes;
        FaceRecord {
            bbox: [round(x), round(y), round(width), round(height)],
            score: (f64::from(face.score) * 1000.0).round() / 1000.0,
            eyes: [
                [round(left_x), round(left_y)],
                [round(right_x), round(right_y)],
            ],
        }
    }
}

/// Totals for the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub photos: usize,
    pub ok: usize,
    pub failed: usize,
    /// Photos whose outputs were all current, so this run left them alone.
    pub skipped: usize,
    /// Outputs written by this run (skipped photos' outputs are not counted).
    pub outputs_written: usize,
    /// Outputs of an earlier run deleted by this one: their source is gone, failed, or names changed.
    pub removed_outputs: Vec<RemovedOutput>,
    /// Photos whose `needs_review` is set.
    pub needs_review: usize,
    /// Photos a correction rejected (`role: rejected`): no outputs; neither failed nor to review.
    pub rejected: usize,
    /// Files passed over in input folders (raw files, non-images), with the reason.
    pub ignored_files: Vec<IgnoredFile>,
}

/// An earlier run's output that this run deleted, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovedOutput {
    /// Relative to the output folder, with `/` separators.
    pub path: String,
    /// The source it was made from.
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IgnoredFile {
    pub path: String,
    pub reason: String,
}

/// Wall-clock figures: the only part of the manifest that differs between identical runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    pub wall_seconds: f64,
    pub photos_per_second: f64,
    pub jobs: usize,
    /// Seconds spent in each stage, summed over all workers (so they add up to about
    /// `wall_seconds × jobs`): where a run's time goes.
    pub stage_seconds: StageSeconds,
    /// How much work the run did: what re-runs and caches saved shows here.
    pub counts: WorkCounts,
}

/// What a run did, counted: decodes, analysers run, renders, outputs finished.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkCounts {
    /// Photos decoded (each at most once).
    pub decodes: u64,
    /// Photos the face detector ran on (the rest took their faces from the analysis cache).
    pub face_detections: u64,
    /// Photos whose faces were described for identity (the rest came from the cache).
    pub face_descriptions: u64,
    /// Photos read for a QR slate.
    pub slate_reads: u64,
    /// Crop plans made (saliency and face framing); cached ones are not counted.
    pub crop_plans: u64,
    /// Photos whose derivatives were rendered (the rest reused their staged files).
    pub renders: u64,
    /// Final outputs written by the finish pass (the rest were current).
    pub outputs_finished: u64,
}

/// Per-stage worker time; see [`Timing::stage_seconds`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageSeconds {
    /// Reading the file, EXIF and decoding (with shrink-on-load) and orienting.
    pub decode: f64,
    /// The small preview, face detection and crop planning.
    pub analyse: f64,
    /// Tone tables and sharpening, every derivative (after resizing).
    pub tone: f64,
    /// Crop and resize, every derivative.
    pub resize: f64,
    /// Encoding, every derivative.
    pub encode: f64,
    /// Writing and renaming output files (staged and final).
    pub write: f64,
    /// The decide pass: names, file names, metadata, review, over the whole shoot.
    pub decide: f64,
    /// The finish pass: metadata into the staged files' containers, and writing them.
    pub finish: f64,
}

/// The settings that shaped the outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub crop: String,
    pub tone: String,
    pub export: String,
    pub template: String,
    pub derivatives: Vec<String>,
}

/// Preset names used for a photo.
#[derive(Debug, Clone, Serialize)]
pub struct PresetsUsed {
    pub crop: String,
    pub tone: String,
    pub export: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub schema: &'static str,
    pub version: u32,
    pub generator: String,
    pub settings: Settings,
    pub summary: Summary,
    pub timing: Timing,
    /// Naming problems to look at (unnamed photos, names without photos...); `null` without names.
    pub review: Option<Review>,
    /// Every camera of the shoot: id, make and model, photos, clock offset and where it came
    /// from, credit.
    pub cameras: Vec<crate::clocks::CameraClock>,
    pub photos: Vec<PhotoRecord>,
}

/// `manifest.csv` columns, in order.
pub const CSV_COLUMNS: [&str; 12] = [
    "source",
    "person",
    "title",
    "caption",
    "keywords",
    "derivative",
    "path",
    "width",
    "height",
    "bytes",
    "needs_review",
    "format",
];

/// Joins a photo's keywords in one `manifest.csv` cell.
pub const CSV_KEYWORD_SEPARATOR: &str = "; ";

impl Manifest {
    pub fn to_json(&self) -> String {
        let mut bytes = Vec::new();
        // Writing plain owned data into a Vec cannot fail.
        let _ = self.write_json(&mut bytes);
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// `manifest.json`'s text (pretty, with a final newline), streamed into `out`.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        out.write_all(b"\n")
    }

    /// `manifest.csv`: a header, then one row per output file (failed photos have none), in
    /// manifest order; RFC 4180 quoting, CRLF line ends, UTF-8. Cells that a spreadsheet
    /// would run as a formula get a leading `'` (see [`neutralise_formula`]).
    pub fn to_csv(&self) -> String {
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_csv(&mut bytes);
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// `manifest.csv`'s text (see [`Manifest::to_csv`]), streamed into `out`.
    pub fn write_csv(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out);
        writer.write_record(CSV_COLUMNS)?;
        for photo in &self.photos {
            let person = photo.person.as_ref().map(|p| p.name.as_str());
            let keywords = photo.keywords.join(CSV_KEYWORD_SEPARATOR);
            for output in &photo.outputs {
                let row = [
                    photo.source.as_str(),
                    person.unwrap_or_default(),
                    photo.display_title().unwrap_or_default(),
                    photo.caption.as_deref().unwrap_or_default(),
                    &keywords,
                    &output.derivative,
                    &output.path,
                    &output.width.to_string(),
                    &output.height.to_string(),
                    &output.bytes.to_string(),
                    photo.needs_review.as_deref().unwrap_or_default(),
                    output.format.name(),
                ];
                let cells = row.map(neutralise_formula);
                writer.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
            }
        }
        writer.flush()
    }
}

/// OWASP's CSV-injection advice: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return
/// is a formula (or becomes one) in Excel and LibreOffice, so it gets a leading `'`, which they
/// show as text. Only `manifest.csv` does this; the JSON and the photos keep the exact text.
fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Person;

    fn photo(source: &str, person: Option<&str>, outputs: &[(&str, &str, u64)]) -> PhotoRecord {
        PhotoRecord {
            source: source.to_string(),
            status: Status::Ok,
            error: None,
            error_stage: None,
            warnings: Vec::new(),
            format: Some(ImageFormat::Jpeg),
            width: Some(600),
            height: Some(400),
            orientation: 1,
            capture_time: None,
            camera: None,
            camera_id: None,
            photographer: None,
            lens: None,
            exposure: Exposure::default(),
            presets: PresetsUsed {
                crop: "original".into(),
                tone: "neutral".into(),
                export: "web".into(),
            },
            crop: None,
            needs_review: None,
            role: Role::Portrait,
            person: person.map(Person::named),
            assigned_by: None,
            person_seq: None,
            faces: Vec::new(),
            face_group: None,
            face_exposure_ev: None,
            title: None,
            caption: None,
            keywords: Vec::new(),
            outputs: outputs
                .iter()
                .map(|(derivative, path, bytes)| OutputRecord {
                    derivative: derivative.to_string(),
                    path: path.to_string(),
                    width: 300,
                    height: 200,
                    bytes: *bytes,
                    format: OutputFormat::Jpeg,
                    quality: 85,
                    crop: CropRecord {
                        x: 0,
                        y: 0,
                        width: 600,
                        height: 400,
                        rotation_degrees: 0.0,
                        anchor: "center".into(),
                    },
                })
                .collect(),
            source_xxh3: None,
        }
    }

    fn manifest(photos: Vec<PhotoRecord>) -> Manifest {
        Manifest {
            schema: "headshot-manifest",
            version: MANIFEST_VERSION,
            generator: "headshot test".into(),
            settings: Settings {
                crop: "original".into(),
                tone: "neutral".into(),
                export: "web".into(),
                template: "{stem}_{derivative}.{ext}".into(),
                derivatives: vec!["large".into(), "thumb".into()],
            },
            summary: Summary::default(),
            timing: Timing::default(),
            review: None,
            cameras: Vec::new(),
            photos,
        }
    }

    #[test]
    fn csv_has_one_row_per_output_and_quotes_what_needs_it() {
        let mut named = photo(
            "shoot/a.jpg",
            Some("O'Brien, \"Dana\""),
            &[("large", "a_large.jpg", 1000), ("thumb", "a_thumb.jpg", 90)],
        );
        named.caption = Some("Line one\nline two".into());
        named.keywords = vec!["RustConf".into(), "speaker".into()];
        named.needs_review = Some("no face found".into());
        let mut failed = photo("shoot/broken.jpg", None, &[]);
        failed.status = Status::Failed;
        let unnamed = photo("shoot/b é.jpg", None, &[("large", "b é_large.jpg", 5)]);
        let csv_text = manifest(vec![named, failed, unnamed]).to_csv();

        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, CSV_COLUMNS);
        let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.unwrap()).collect();
        assert_eq!(
            rows.len(),
            3,
            "two outputs + one output; the failed photo has none"
        );
        assert_eq!(&rows[0][1], "O'Brien, \"Dana\"");
        assert_eq!(
            &rows[0][2], "O'Brien, \"Dana\"",
            "title defaults to the name"
        );
        assert_eq!(&rows[0][3], "Line one\nline two");
        assert_eq!(&rows[0][4], "RustConf; speaker");
        assert_eq!(&rows[1][6], "a_thumb.jpg");
        assert_eq!(&rows[1][9], "90");
        assert_eq!(&rows[0][10], "no face found");
        assert_eq!(&rows[2][0], "shoot/b é.jpg");
        assert_eq!(&rows[2][1], "");
        // RFC 4180: quotes doubled inside a quoted field, CRLF between records.
        assert!(csv_text.contains("\"O'Brien, \"\"Dana\"\"\""));
        assert!(csv_text.starts_with("source,person,title,"));
        assert_eq!(csv_text.matches("\r\n").count(), 4);
    }

    #[test]
    fn csv_cells_that_spreadsheets_run_as_formulas_get_a_quote() {
        let formula = "=HYPERLINK(\"http://x\",\"a\")";
        let mut named = photo("shoot/@a.jpg", Some(formula), &[("large", "a.jpg", 1)]);
        named.caption = Some("+1 555".into());
        named.keywords = vec!["-x".into(), "ok".into()];
        named.needs_review = Some("\tcmd".into());
        let plain = photo("shoot/b.jpg", Some("Ada = Byron"), &[("large", "b.jpg", 1)]);
        let csv_text = manifest(vec![named, plain]).to_csv();
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.unwrap()).collect();
        assert_eq!(
            &rows[0][0], "shoot/@a.jpg",
            "a sign inside a cell is harmless"
        );
        assert_eq!(&rows[0][1], format!("'{formula}"));
        assert_eq!(&rows[0][2], format!("'{formula}"));
        assert_eq!(&rows[0][3], "'+1 555");
        assert_eq!(&rows[0][4], "'-x; ok");
        assert_eq!(&rows[0][10], "'\tcmd");
        assert_eq!(&rows[1][1], "Ada = Byron", "only a leading sign counts");
    }

    #[test]
    fn a_records_own_title_wins_over_the_name() {
        let mut record = photo("a.jpg", Some("Ada"), &[]);
        assert_eq!(record.display_title(), Some("Ada"));
        record.title = Some("Ada Lovelace, keynote".into());
        assert_eq!(record.display_title(), Some("Ada Lovelace, keynote"));
        assert_eq!(photo("b.jpg", None, &[]).display_title(), None);
    }
}
