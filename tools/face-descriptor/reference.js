// Reference face descriptors from face-api itself, for checking the ONNX port.
//
// Usage (in a scratch folder outside the repository, see README.md):
//   node reference.js CROP.png [CROP.png ...] > reference.json
// Each CROP.png must be an aligned 150x150 RGB face chip; the output maps each
// file's base name to face-api's 128-number descriptor.
'use strict';

const fs = require('fs');
const path = require('path');
const { PNG } = require('pngjs');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

function readRgb(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  if (png.width !== 150 || png.height !== 150) {
    throw new Error(`${file}: ${png.width}x${png.height}, expected 150x150`);
  }
  const rgb = new Int32Array(150 * 150 * 3);
  for (let i = 0; i < 150 * 150; i += 1) {
    rgb[i * 3] = png.data[i * 4];
    rgb[i * 3 + 1] = png.data[i * 4 + 1];
    rgb[i * 3 + 2] = png.data[i * 4 + 2];
  }
  return tf.tensor3d(rgb, [150, 150, 3], 'int32');
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('usage: node reference.js CROP.png [CROP.png ...]');
  await tf.setBackend('wasm');
  await tf.ready();
  const packageDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
  await faceapi.nets.faceRecognitionNet.loadFromDisk(path.join(packageDir, 'model'));
  const descriptors = {};
  for (const file of files) {
    const input = readRgb(file);
    const started = process.hrtime.bigint();
    const descriptor = await faceapi.computeFaceDescriptor(input);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stderr.write(`${path.basename(file)}: ${ms.toFixed(1)} ms\n`);
    descriptors[path.basename(file)] = Array.from(descriptor);
    input.dispose();
  }
  process.stdout.write(`${JSON.stringify({
    package: '@vladmandic/face-api@1.7.15',
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    descriptors,
  }, null, 1)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
