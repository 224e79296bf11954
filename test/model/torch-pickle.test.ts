/**
 * The state-dict unpickler on hand-written pickles (opcodes from Python's pickletools): what a
 * state dict uses is read, everything else is refused by name before anything is built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PyDict, stateDictTensors, unpickle } from '../../src/model/torch-pickle.js';

const b = (...parts: (string | number[])[]) =>
  Uint8Array.from(
    parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)),
  );

test('literals, tuples, lists, dicts and the memo', () => {
  // PROTO 2, EMPTY_DICT, BINPUT 0, MARK, 'a' 7, 'b' None, SETITEMS, STOP
  const simple = b(
    [0x80, 2],
    '}q',
    [0],
    '(X',
    [1, 0, 0, 0],
    'aK',
    [7],
    'X',
    [1, 0, 0, 0],
    'bN',
    'u.',
  );
  const { value, end } = unpickle(simple, 'test');
  assert.equal(end, simple.length);
  assert.ok(value instanceof PyDict);
  assert.deepEqual(
    [...value.items],
    [
      ['a', 7],
      ['b', null],
    ],
  );
  const tuple = b(
    [0x80, 2],
    'K',
    [1],
    'J',
    [0xfe, 0xff, 0xff, 0xff],
    [0x8a, 6, 0, 0, 0, 0, 0, 1],
    [0x87],
    '.',
  );
  assert.deepEqual(unpickle(tuple, 't').value, [1, -2, 2 ** 40]);
  const negLong = b([0x8a, 2, 0x00, 0xff], '.'); // -256
  assert.equal(unpickle(negLong, 't').value, -256);
});

for (const [what, bytes, message] of [
  [
    'os.system via GLOBAL',
    b([0x80, 2], 'cos\nsystem\n', 'X', [2, 0, 0, 0], 'ls', [0x85], 'R.'),
    /'os\.system'/,
  ],
  [
    'builtins.eval via STACK_GLOBAL',
    b([0x80, 4], [0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93], '.'),
    /'builtins\.eval'/,
  ],
  ['INST', b('(ios\nsystem\n.'), /opcode INST/],
  ['NEWOBJ', b([0x80, 2], ')', [0x81], '.'), /opcode NEWOBJ/],
  ['a text-protocol INT', b('I1\n.'), /opcode INT/],
  ['EXT1', b([0x80, 2, 0x82, 1], '.'), /opcode EXT1/],
] as const) {
  test(`${what} is refused, naming it`, () => {
    assert.throws(() => unpickle(bytes, 'evil.bin'), {
      code: 'E_WEIGHTS_FORMAT',
      message: message,
    });
  });
}

test('REDUCE of an allowed storage type, and BUILD on a non-dict, are refused', () => {
  const reduceStorage = b([0x80, 2], 'ctorch\nFloatStorage\n', ')R.');
  assert.throws(() => unpickle(reduceStorage, 'x'), /REDUCE of torch\.FloatStorage/);
  const buildList = b([0x80, 2], ']}b.');
  assert.throws(() => unpickle(buildList, 'x'), /BUILD of a tuple/);
});

test('a pickle cut before STOP says it is truncated', () => {
  assert.throws(() => unpickle(b([0x80, 2], '}(X', [5, 0, 0, 0], 'ab'), 'cut.bin'), /truncated/);
});

test('a state dict holding something other than tensors is named', () => {
  const { value } = unpickle(b([0x80, 2], '}X', [5, 0, 0, 0], 'model', 'K', [1], 's.'), 'x');
  assert.throws(
    () => stateDictTensors(value, 'ckpt.pt'),
    /entries that are not tensors: model.*training checkpoint/,
  );
});
