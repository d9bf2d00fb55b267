//! One embedded BlazeFace network run with tract: loading (with the in-memory
//! ONNX fix the vendored files need), building the input tensor and reading the outputs.

use std::sync::Arc;

use image::RgbImage;
use tract_onnx::pb::{self, attribute_proto::AttributeType, tensor_proto::DataType};
use tract_onnx::prelude::*;

use super::geometry::{self, Candidate, Letterbox, REGRESSOR_WIDTH};
use super::FaceError;

/// Which of the two vendored networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelKind {
    /// Full-range model, 256 px input, faces of any size in the frame.
    FullRange,
    /// Short-range model, 128 px input, faces filling much of the frame.
    ShortRange,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::FullRange => "full-range 256",
            ModelKind::ShortRange => "short-range 128",
        }
    }

    /// Side of the square input, in pixels.
    pub fn side(self) -> u32 {
        match self {
            ModelKind::FullRange => 256,
            ModelKind::ShortRange => 128,
        }
    }

    fn onnx_bytes(self) -> &'static [u8] {
        match self {
            ModelKind::FullRange => {
                include_bytes!("../../models/face_detection_back_256x256_barracuda.onnx")
            }
            ModelKind::ShortRange => {
                include_bytes!("../../models/face_detection_front_128x128_barracuda.onnx")
            }
        }
    }
}

/// A loaded, optimised network with its anchor table.
pub(crate) struct BlazeFaceModel {
    kind: ModelKind,
    plan: Arc<TypedRunnableModel>,
    anchors: Vec<[f32; 2]>,
}

impl std::fmt::Debug for BlazeFaceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlazeFaceModel")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Gives every `ConstantOfShape` node without a `value` attribute an explicit
/// float32 zero, the ONNX default, which tract 0.23.9 would otherwise read as f64.
///
/// Returns how many nodes were patched.
pub(crate) fn patch_constant_of_shape(graph: &mut pb::GraphProto) -> usize {
    let mut patched = 0;
    for node in &mut graph.node {
        if node.op_type == "ConstantOfShape" && !node.attribute.iter().any(|a| a.name == "value") {
            node.attribute.push(pb::AttributeProto {
                name: "value".to_owned(),
                r#type: AttributeType::Tensor as i32,
                t: Some(pb::TensorProto {
                    dims: vec![1],
                    data_type: DataType::Float as i32,
                    float_data: vec![0.0],
                    ..Default::default()
                }),
                ..Default::default()
            });
            patched += 1;
        }
    }
    patched
}

impl BlazeFaceModel {
    /// Decodes, patches, types and optimises the embedded network.
    pub fn load(kind: ModelKind) -> Result<Self, FaceError> {
        let fail = |stage: &str, error: TractError| FaceError::ModelLoad {
            model: kind.name(),
            message: format!("{stage}: {error:#}"),
        };
        let onnx = tract_onnx::onnx();
        let mut proto = onnx
            .proto_model_for_read(&mut kind.onnx_bytes())
            .map_err(|e| fail("decoding the ONNX protobuf", e))?;
        if let Some(graph) = proto.graph.as_mut() {
            patch_constant_of_shape(graph);
        }
        let side = kind.side() as usize;
        let plan = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| fail("reading the graph", e))?
            .with_input_fact(0, f32::fact([1, side, side, 3]).into())
            .map_err(|e| fail("fixing the input shape", e))?
            .into_optimized()
            .map_err(|e| fail("optimising", e))?
            .into_runnable()
            .map_err(|e| fail("planning", e))?;
        Ok(BlazeFaceModel {
            kind,
            plan,
            anchors: geometry::anchor_centres(),
        })
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Runs the network on `upright` and returns candidates scoring at least
    /// `min_score`, in `upright`'s pixels, before suppression.
    pub fn candidates(
        &self,
        upright: &RgbImage,
        min_score: f32,
    ) -> Result<Vec<Candidate>, FaceError> {
        let letterbox = Letterbox::fit(upright.width(), upright.height(), self.kind.side());
        let outputs = input_tensor(upright, &letterbox)
            .and_then(|input| self.plan.run(tvec![input.into()]))
            .map_err(|error| self.inference_error(upright, format!("{error:#}")))?;
        let (scores, regressors) =
            self.collect_outputs(&outputs)
                .map_err(|message| FaceError::UnexpectedOutput {
                    model: self.kind.name(),
                    message,
                })?;
        Ok(geometry::decode(
            &scores,
            &regressors,
            &self.anchors,
            &letterbox,
            min_score,
        ))
    }

    fn inference_error(&self, upright: &RgbImage, message: String) -> FaceError {
        FaceError::Inference {
            model: self.kind.name(),
            width: upright.width(),
            height: upright.height(),
            message,
        }
    }

    /// Gathers the per-anchor scores and regressors from the network's outputs.
    ///
    /// The networks give four outputs (scores and regressors for each anchor
    /// layer); they are told apart by shape, not by position, and concatenated
    /// in anchor order (the layer with more anchors first).
    fn collect_outputs(&self, outputs: &[TValue]) -> Result<(Vec<f32>, Vec<f32>), String> {
        let mut score_parts: Vec<(usize, Vec<f32>)> = Vec::new();
        let mut regressor_parts: Vec<(usize, Vec<f32>)> = Vec::new();
        for output in outputs {
            let values = output
                .try_as_plain_ram()
                .and_then(|view| view.as_slice::<f32>())
                .map_err(|e| format!("output is not plain f32: {e:#}"))?;
            let shape = output.shape();
            match shape.last() {
                Some(&REGRESSOR_WIDTH) => {
                    regressor_parts.push((values.len() / REGRESSOR_WIDTH, values.to_vec()))
                }
                Some(&1) => score_parts.push((values.len(), values.to_vec())),
                _ => return Err(format!("unexpected output shape {shape:?}")),
            }
        }
        let join = |mut parts: Vec<(usize, Vec<f32>)>| {
            parts.sort_by_key(|part| std::cmp::Reverse(part.0));
            let anchors: usize = parts.iter().map(|p| p.0).sum();
            (
                anchors,
                parts.into_iter().flat_map(|p| p.1).collect::<Vec<f32>>(),
            )
        };
        let (score_count, scores) = join(score_parts);
        let (regressor_count, regressors) = join(regressor_parts);
        if score_count != self.anchors.len() || regressor_count != self.anchors.len() {
            return Err(format!(
                "expected {} anchors, got {score_count} scores and {regressor_count} regressor rows",
                self.anchors.len()
            ));
        }
        Ok((scores, regressors))
    }
}

/// Scales `upright` to the letterbox's inner size (bilinear, with
/// fast_image_resize, which stays fast in debug builds too).
fn scale_into_letterbox(upright: &RgbImage, letterbox: &Letterbox) -> TractResult<Vec<u8>> {
    use fast_image_resize::{images, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    if (upright.width(), upright.height()) == (letterbox.inner_width, letterbox.inner_height) {
        return Ok(upright.as_raw().clone());
    }
    let source = images::ImageRef::new(
        upright.width(),
        upright.height(),
        upright.as_raw(),
        PixelType::U8x3,
    )
    .map_err(|e| TractError::msg(format!("wrapping the image for resizing: {e}")))?;
    let mut scaled = images::Image::new(
        letterbox.inner_width,
        letterbox.inner_height,
        PixelType::U8x3,
    );
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new()
        .resize(&source, &mut scaled, &options)
        .map_err(|e| {
            TractError::msg(format!(
                "resizing to {}x{}: {e}",
                letterbox.inner_width, letterbox.inner_height
            ))
        })?;
    Ok(scaled.into_vec())
}

/// Letterboxes `upright` into the model's square as NHWC float32 in [-1, 1];
/// the padding is black (-1).
fn input_tensor(upright: &RgbImage, letterbox: &Letterbox) -> TractResult<Tensor> {
    let side = letterbox.side as usize;
    let scaled = scale_into_letterbox(upright, letterbox)?;
    let mut data = vec![-1.0f32; side * side * 3];
    let row_length = letterbox.inner_width as usize * 3;
    for (row, pixels) in scaled.chunks_exact(row_length).enumerate() {
        let start = ((row + letterbox.pad_top as usize) * side + letterbox.pad_left as usize) * 3;
        for (value, &byte) in data[start..start + row_length].iter_mut().zip(pixels) {
            *value = byte as f32 / 127.5 - 1.0;
        }
    }
    Tensor::from_shape(&[1, side, side, 3], &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_tensor_letterboxes_into_black_bands() {
        let photo = RgbImage::from_pixel(4, 2, image::Rgb([255, 0, 128]));
        let letterbox = Letterbox::fit(4, 2, 4);
        let tensor = input_tensor(&photo, &letterbox).expect("tensor");
        assert_eq!(tensor.shape(), &[1, 4, 4, 3]);
        let view = tensor.try_as_plain_ram().expect("plain tensor");
        let values = view.as_slice::<f32>().expect("f32 tensor");
        // Row 0 is padding, rows 1-2 the photo, row 3 padding.
        assert_eq!(&values[0..3], &[-1.0, -1.0, -1.0]);
        let first_photo_pixel = &values[4 * 3..4 * 3 + 3];
        assert_eq!(first_photo_pixel[0], 1.0);
        assert_eq!(first_photo_pixel[1], -1.0);
        assert!((first_photo_pixel[2] - (128.0 / 127.5 - 1.0)).abs() < 1e-6);
        assert_eq!(&values[3 * 4 * 3..3 * 4 * 3 + 3], &[-1.0, -1.0, -1.0]);
    }

    #[test]
    fn vendored_files_need_and_get_the_constant_of_shape_patch() {
        for kind in [ModelKind::FullRange, ModelKind::ShortRange] {
            let mut proto = tract_onnx::onnx()
                .proto_model_for_read(&mut kind.onnx_bytes())
                .expect("vendored model decodes");
            let graph = proto.graph.as_mut().expect("model has a graph");
            assert!(patch_constant_of_shape(graph) > 0, "{}", kind.name());
            assert_eq!(patch_constant_of_shape(graph), 0, "patch is idempotent");
        }
    }

    #[test]
    fn both_models_load_and_give_896_anchors() {
        for kind in [ModelKind::FullRange, ModelKind::ShortRange] {
            let model = BlazeFaceModel::load(kind).expect("vendored model loads");
            let grey = RgbImage::from_pixel(64, 48, image::Rgb([128, 128, 128]));
            let found = model.candidates(&grey, 0.5).expect("runs");
            assert!(found.is_empty(), "{}: {found:?}", kind.name());
        }
    }
}
