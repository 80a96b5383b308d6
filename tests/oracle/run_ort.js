// Runs an ONNX model in ONNX Runtime (onnxruntime-node, graph optimizations disabled) on inputs
// given as raw little-endian files, for the oracle tests:
//   node run_ort.js JOB.json
// JOB: {"runs": [{"model": path, "inputs": [{"name", "type", "dims", "file"}], "out": prefix}]}.
// Each run writes PREFIX_I.bin (output I's raw data) and PREFIX.json (names, types, dims).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const ARRAYS = {float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array};

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const sessions = new Map();
  for (const run of job.runs) {
    if (!sessions.has(run.model))
      sessions.set(run.model, await ort.InferenceSession.create(run.model, {graphOptimizationLevel: 'disabled'}));
    const session = sessions.get(run.model);
    const feeds = {};
    for (const i of run.inputs) {
      const b = fs.readFileSync(i.file);
      const data = new ARRAYS[i.type](b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      feeds[i.name] = new ort.Tensor(i.type, data, i.dims);
    }
    const results = await session.run(feeds);
    const meta = [];
    session.outputNames.forEach((name, k) => {
      const t = results[name];
      fs.writeFileSync(`${run.out}_${k}.bin`, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      meta.push({name, type: t.type, dims: t.dims});
    });
    fs.writeFileSync(`${run.out}.json`, JSON.stringify(meta));
  }
}
main().catch((e) => { console.error(String(e.message || e).split('\n')[0]); process.exit(1); });
