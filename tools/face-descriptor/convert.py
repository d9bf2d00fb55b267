#!/usr/bin/env python3
"""Writes face-api's `face_recognition_model` (dlib's ResNet face descriptor) as an ONNX graph.

Reads the weight manifest and the binary shard from the npm package
`@vladmandic/face-api` (see README.md for the version and checksums) and rebuilds the
network of its `src/faceRecognitionNet/` in ONNX, NCHW. Weights stay as the package
ships them: uint8 with a per-tensor `scale` and `min` (dequantised in the graph, which
tract folds to constants at load time), or float32 where the package has no quantisation.

Usage: python3 convert.py PACKAGE_DIR OUTPUT.onnx   (needs `pip install onnx numpy`)
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODEL = "face_recognition_model"
# face-api's FaceRecognitionNet.forwardInput: mean RGB subtracted, then divided by 255.
MEAN_RGB = [122.782, 117.001, 104.298]
DIVISOR = 255.0
SIDE = 150

# (layer prefix, kind) in forward order, as in FaceRecognitionNet.forwardInput.
LAYERS = [
    ("conv32_1", "residual"), ("conv32_2", "residual"), ("conv32_3", "residual"),
    ("conv64_down", "down"), ("conv64_1", "residual"), ("conv64_2", "residual"),
    ("conv64_3", "residual"),
    ("conv128_down", "down"), ("conv128_1", "residual"), ("conv128_2", "residual"),
    ("conv256_down", "down"), ("conv256_1", "residual"), ("conv256_2", "residual"),
    ("conv256_down_out", "down"),
]


def read_weights(package: Path):
    """Weight name -> (raw array as stored, shape, quantisation or None), in manifest order."""
    manifest_path = package / "model" / f"{MODEL}-weights_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    weights = {}
    for group in manifest:
        blob = b"".join((package / "model" / p).read_bytes() for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            count = int(np.prod(entry["shape"]))
            quant = entry.get("quantization")
            if quant:
                if quant["dtype"] != "uint8":
                    sys.exit(f"{entry['name']}: unsupported quantisation {quant['dtype']}")
                raw = np.frombuffer(blob, np.uint8, count, offset)
                offset += count
            else:
                if entry["dtype"] != "float32":
                    sys.exit(f"{entry['name']}: unsupported dtype {entry['dtype']}")
                raw = np.frombuffer(blob, "<f4", count, offset)
                offset += 4 * count
            weights[entry["name"]] = (raw.reshape(entry["shape"]), quant)
        if offset != len(blob):
            sys.exit(f"manifest describes {offset} bytes, shards hold {len(blob)}")
    return weights


class Graph:
    """Accumulates ONNX nodes and initialisers with unique names."""

    def __init__(self, weights):
        self.weights = weights
        self.nodes = []
        self.initializers = []
        self.count = 0

    def name(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint, array):
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, hint, **attrs):
        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def weight(self, key, transpose=None):
        """A float32 value for weight `key`: uint8 * scale + min, or the float32 as stored."""
        raw, quant = self.weights[key]
        if transpose is not None:
            raw = np.ascontiguousarray(raw.transpose(transpose))
        if quant is None:
            return self.const(key, raw.astype(np.float32))
        stored = self.const(key + "/uint8", raw)
        as_float = self.op("Cast", [stored], key + "/float", to=TensorProto.FLOAT)
        scale = self.const(key + "/scale", np.array(quant["scale"], np.float32))
        minimum = self.const(key + "/min", np.array(quant["min"], np.float32))
        scaled = self.op("Mul", [as_float, scale], key + "/scaled")
        return self.op("Add", [scaled, minimum], key)

    def conv_layer(self, x, prefix, stride, relu):
        """convLayer.ts: conv (HWIO filters, 'same' at stride 1, 'valid' at 2) + bias, then scale."""
        filters_shape = self.weights[f"{prefix}/conv/filters"][0].shape
        kernel = filters_shape[0]
        pad = (kernel - 1) // 2 if stride == 1 else 0
        filters = self.weight(f"{prefix}/conv/filters", transpose=(3, 2, 0, 1))  # -> OIHW
        bias = self.weight(f"{prefix}/conv/bias")
        out = self.op("Conv", [x, filters, bias], prefix + "/conv",
                      kernel_shape=[kernel, kernel], strides=[stride, stride],
                      pads=[pad, pad, pad, pad])
        channels = filters_shape[3]
        scale_shape = np.array([1, channels, 1, 1], np.int64)
        shape = self.const(prefix + "/scale_shape", scale_shape)
        scale = self.op("Reshape", [self.weight(f"{prefix}/scale/weights"), shape], prefix + "/sw")
        shift = self.op("Reshape", [self.weight(f"{prefix}/scale/biases"), shape], prefix + "/sb")
        out = self.op("Mul", [out, scale], prefix + "/scale")
        out = self.op("Add", [out, shift], prefix + "/shift")
        return self.op("Relu", [out], prefix + "/relu") if relu else out

    def pad(self, x, hint, begin, end):
        pads = self.const(hint + "/pads", np.array(begin + end, np.int64))
        return self.op("Pad", [x, pads], hint, mode="constant")

    def residual(self, x, prefix):
        out = self.conv_layer(x, prefix + "/conv1", 1, True)
        out = self.conv_layer(out, prefix + "/conv2", 1, False)
        return self.op("Relu", [self.op("Add", [out, x], prefix + "/add")], prefix + "/out")

    def residual_down(self, x, prefix, size, channels_in):
        """residualLayer.ts residualDown; returns (output, its side, its channels)."""
        out = self.conv_layer(x, prefix + "/conv1", 2, True)
        out = self.conv_layer(out, prefix + "/conv2", 1, False)
        conv_side = (size - 3) // 2 + 1
        pooled_side = (size - 2) // 2 + 1
        channels = self.weights[prefix + "/conv2/conv/filters"][0].shape[3]
        pooled = self.op("AveragePool", [x], prefix + "/pool", kernel_shape=[2, 2], strides=[2, 2])
        if pooled_side != conv_side:
            # face-api appends a row and a column of zeros (bottom, right) to the conv branch.
            if pooled_side != conv_side + 1:
                sys.exit(f"{prefix}: cannot pad {conv_side} to {pooled_side}")
            out = self.pad(out, prefix + "/pad_hw", [0, 0, 0, 0], [0, 0, 1, 1])
        if channels != channels_in:
            # ... and zero channels after the pooled input's.
            pooled = self.pad(pooled, prefix + "/pad_c", [0, 0, 0, 0],
                              [0, channels - channels_in, 0, 0])
        out = self.op("Add", [pooled, out], prefix + "/add")
        return self.op("Relu", [out], prefix + "/out"), pooled_side, channels


def build(weights):
    graph = Graph(weights)
    mean = graph.const("mean_rgb", np.array(MEAN_RGB, np.float32).reshape(1, 3, 1, 1))
    divisor = graph.const("divisor", np.array(DIVISOR, np.float32))
    x = graph.op("Sub", ["input", mean], "centred")
    x = graph.op("Div", [x, divisor], "normalised")
    x = graph.conv_layer(x, "conv32_down", 2, True)
    x = graph.op("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2])
    size = ((SIDE - 7) // 2 + 1 - 3) // 2 + 1
    channels = 32
    for prefix, kind in LAYERS:
        if kind == "residual":
            x = graph.residual(x, prefix)
        else:
            x, size, channels = graph.residual_down(x, prefix, size, channels)
    x = graph.op("ReduceMean", [x], "global_mean", axes=[2, 3], keepdims=0)
    x = graph.op("MatMul", [x, graph.weight("fc")], "descriptor")
    graph.nodes[-1].output[0] = "descriptor"
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIDE, SIDE])]
    outputs = [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])]
    onnx_graph = helper.make_graph(graph.nodes, "face_recognition_net", inputs, outputs,
                                   graph.initializers)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="headshot tools/face-descriptor/convert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    package, output = Path(sys.argv[1]), Path(sys.argv[2])
    for name in (f"{MODEL}-weights_manifest.json", f"{MODEL}.bin"):
        digest = hashlib.sha256((package / "model" / name).read_bytes()).hexdigest()
        print(f"{digest}  model/{name}")
    weights = read_weights(package)
    if sorted(weights) != sorted(set(weights)):
        sys.exit("duplicate weight names")
    model = build(weights)
    output.write_bytes(model.SerializeToString())
    print(f"wrote {output} ({output.stat().st_size} bytes, {len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
