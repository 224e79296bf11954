import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { GraphBuilder, IR_VERSION, OPSET } from '../../src/runtime/onnx-graph.js';
import { createSession, runRaw } from '../../src/runtime/onnx.js';

const { onnx } = onnxProto;

function build() {
  const g = new GraphBuilder('t');
  const x = g.input('x', ['n', 3]);
  const w = g.weight('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  const y = g.op('MatMul', [x, w]); // [n, 2]
  const r = g.op('Reshape', [y, g.ints([-1])]);
  g.output(g.op('Reshape', [r, g.ints([-1, 2])]), ['n', 2], 'y');
  return g;
}

test('GraphBuilder output is deterministic, deduplicates int constants, and runs', async () => {
  const a = build().toBytes();
  assert.deepEqual(a, build().toBytes());
  const m = onnx.ModelProto.decode(a);
  assert.equal(Number(m.irVersion), IR_VERSION);
  assert.equal(Number(m.opsetImport[0]!.version), OPSET);
  const ints = (m.graph?.initializer ?? []).filter(
    (t) => t.dataType === onnx.TensorProto.DataType.INT64,
  );
  assert.equal(ints.length, 2); // [-1] and [-1, 2], each once
  const s = await createSession(a, 'cpu');
  const out = await runRaw(s, { x: { data: Float32Array.from([1, 0, 0, 0, 1, 1]), dims: [2, 3] } });
  assert.deepEqual([...out['y']!], [1, 2, 8, 10]);
  await s.release();
});

test('GraphBuilder checks initializer sizes', () => {
  const g = new GraphBuilder('t');
  assert.throws(() => g.weight('w', new Float32Array(5), [2, 3]), { code: 'E_VALIDATION' });
});
