/**
 * A deliberately small unpickler for PyTorch state dicts. A pickle is a program for a stack
 * machine whose GLOBAL + REDUCE opcodes call any importable Python function, so loading one with
 * a general unpickler runs whatever its author wrote. This one understands only the opcodes a
 * `torch.save(model.state_dict())` stream uses and resolves only the handful of globals a state
 * dict names (OrderedDict, the tensor rebuild functions, float/half/bfloat16 storage types);
 * every other opcode or global is refused by name before anything happens. Nothing is ever
 * called: "calling" an allowed global builds a plain TypeScript value (a dict or a TensorRef).
 */
import { WeightsFormatError } from '../errors.js';

/** Element types a storage may hold, with their byte size. */
export type TorchDtype = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<TorchDtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** Storage classes a state dict may name, and what they hold. */
const STORAGE_TYPES: Record<string, TorchDtype> = {
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
};

/** A storage named by a persistent id: raw elements kept outside the pickle. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly key: string;
  readonly dtype: TorchDtype;
  /** Elements the pickle says the storage holds. */
  readonly numel: number;
}

/** A tensor: a strided view of a storage (torch._utils._rebuild_tensor_v2). */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** A Python dict (plain or ordered); keys are strings or ints, insertion order kept. */
export class PyDict {
  readonly items = new Map<string | number, PickleValue>();
}

/** An allowed global, before it is "called" by REDUCE (or used as a storage type). */
interface GlobalRef {
  readonly kind: 'global';
  readonly name: string;
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyDict
  | GlobalRef
  | StorageRef
  | TensorRef;

const ALLOWED_CALLS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
]);

/** Opcode names, for messages about the ones refused. */
const OPCODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries({
    '(': 'MARK', '.': 'STOP', '0': 'POP', '1': 'POP_MARK', '2': 'DUP', F: 'FLOAT', I: 'INT',
    J: 'BININT', K: 'BININT1', L: 'LONG', M: 'BININT2', N: 'NONE', P: 'PERSID', Q: 'BINPERSID',
    R: 'REDUCE', S: 'STRING', T: 'BINSTRING', U: 'SHORT_BINSTRING', V: 'UNICODE',
    X: 'BINUNICODE', a: 'APPEND', b: 'BUILD', c: 'GLOBAL', d: 'DICT', '}': 'EMPTY_DICT',
    e: 'APPENDS', g: 'GET', h: 'BINGET', i: 'INST', j: 'LONG_BINGET', l: 'LIST', ']': 'EMPTY_LIST',
    o: 'OBJ', p: 'PUT', q: 'BINPUT', r: 'LONG_BINPUT', s: 'SETITEM', t: 'TUPLE', ')': 'EMPTY_TUPLE',
    u: 'SETITEMS', G: 'BINFLOAT', '\x80': 'PROTO', '\x81': 'NEWOBJ', '\x82': 'EXT1',
    '\x83': 'EXT2', '\x84': 'EXT4', '\x85': 'TUPLE1', '\x86': 'TUPLE2', '\x87': 'TUPLE3',
    '\x88': 'NEWTRUE', '\x89': 'NEWFALSE', '\x8a': 'LONG1', '\x8b': 'LONG4', B: 'BINBYTES',
    C: 'SHORT_BINBYTES', '\x8c': 'SHORT_BINUNICODE', '\x8d': 'BINUNICODE8', '\x8e': 'BINBYTES8',
    '\x8f': 'EMPTY_SET', '\x90': 'ADDITEMS', '\x91': 'FROZENSET', '\x92': 'NEWOBJ_EX',
    '\x93': 'STACK_GLOBAL', '\x94': 'MEMOIZE', '\x95': 'FRAME', '\x96': 'BYTEARRAY8',
    '\x97': 'NEXT_BUFFER', '\x98': 'READONLY_BUFFER',
  }).map(([ch, name]) => [ch.charCodeAt(0), name]),
); // prettier-ignore

/** Thrown when the stream ends before STOP: the caller may retry with more bytes. */
export class PickleTruncatedError extends WeightsFormatError {}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/**
 * Runs one pickle from `bytes[start]` to its STOP. Returns the value and the offset after STOP.
 * `where` names the source in messages.
 */
export function unpickle(
  bytes: Uint8Array,
  where: string,
  start = 0,
): { value: PickleValue; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = start;
  const fail = (msg: string) => new WeightsFormatError(`${where}: ${msg}`);
  const need = (n: number) => {
    if (pos + n > bytes.length)
      throw new PickleTruncatedError(
        `${where}: the pickle ends early at byte ${bytes.length} (truncated file)`,
      );
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const utf8 = (n: number) => new TextDecoder('utf-8', { fatal: true }).decode(take(n));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) need(bytes.length - pos + 1);
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw fail(`stack underflow at byte ${pos}`);
    return v;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) throw fail(`no MARK to pop at byte ${pos}`);
    const items = stack.splice(m);
    items.shift(); // the MARK itself
    return items as PickleValue[];
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw fail(`empty stack at byte ${pos}`);
    return v;
  };
  const global = (module: string, name: string): GlobalRef => {
    const full = `${module}.${name}`;
    if (!ALLOWED_CALLS.has(full) && !(full in STORAGE_TYPES)) {
      throw fail(
        `refusing the pickle global '${full}' (at byte ${pos}): a state dict never needs it, ` +
          `so this file is not a plain checkpoint or is hostile; nothing was executed. Allowed: ` +
          `${[...ALLOWED_CALLS, ...Object.keys(STORAGE_TYPES)].join(', ')}`,
      );
    }
    return { kind: 'global', name: full };
  };
  const setItems = (target: PickleValue, kv: PickleValue[]) => {
    if (!(target instanceof PyDict)) throw fail(`SETITEM(S) on a non-dict at byte ${pos}`);
    for (let i = 0; i + 1 < kv.length; i += 2) {
      const k = kv[i];
      if (typeof k !== 'string' && typeof k !== 'number')
        throw fail(`dict key of type ${describe(k)} at byte ${pos}`);
      target.items.set(k, kv[i + 1]!);
    }
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length hint only
        take(8);
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
        stack.push(op === 0x88);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push((need(4), (pos += 4), dv.getInt32(pos - 4, true)));
        break;
      case 0x8a: // LONG1: little-endian two's complement of n bytes
        stack.push(longValue(take(u8())));
        break;
      case 0x47: // BINFLOAT (big-endian)
        stack.push((need(8), (pos += 8), dv.getFloat64(pos - 8, false)));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str: latin-1)
      case 0x54: // BINSTRING
        stack.push(new TextDecoder('latin1').decode(take(op === 0x55 ? u8() : u32())));
        break;
      case 0x43: // SHORT_BINBYTES
      case 0x42: // BINBYTES
        stack.push(take(op === 0x43 ? u8() : u32()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) throw fail(`APPEND to a non-list at byte ${at}`);
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw fail(`APPENDS to a non-list at byte ${at}`);
        list.push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: // SETITEMS
        {
          const kv = popMark();
          setItems(top(), kv);
        }
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) throw fail(`memo entry ${i} used before it was set (byte ${at})`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw fail(`STACK_GLOBAL needs two strings (byte ${at})`);
        stack.push(global(module, name));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentStorage(pop(), fail));
        break;
      case 0x52: {
        // REDUCE: "call" an allowed global
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args, fail, at));
        break;
      }
      case 0x62: {
        // BUILD: only an OrderedDict's attribute dict (state_dict()._metadata), which is dropped
        const state = pop();
        if (!(top() instanceof PyDict) || !(state instanceof PyDict || state === null))
          throw fail(`BUILD of ${describe(top())} at byte ${at} is not allowed`);
        break;
      }
      default:
        throw fail(
          `refusing the pickle opcode ${OPCODE_NAMES[op] ?? `0x${op.toString(16)}`} at byte ${at}: ` +
            'a state dict never uses it; nothing was executed',
        );
    }
  }
}

function longValue(b: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function describe(v: StackItem | undefined): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a tuple';
  if (v instanceof PyDict) return 'a dict';
  if (typeof v === 'object' && v !== null && 'kind' in v) {
    return v.kind === 'global' ? v.name : `a ${v.kind}`;
  }
  return typeof v;
}

/** ('storage', StorageType, key, location, numel[, view_metadata]) -> StorageRef. */
function persistentStorage(pid: PickleValue, fail: (m: string) => Error): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage')
    throw fail(`persistent id ${describe(pid)} is not a storage reference`);
  const [, type, key, , numel, view] = pid;
  if (!type || typeof type !== 'object' || !('kind' in type) || type.kind !== 'global')
    throw fail('storage reference without a storage type');
  const dtype = STORAGE_TYPES[type.name];
  if (!dtype) throw fail(`storage type ${type.name} is not a float storage`);
  if (typeof key !== 'string' || typeof numel !== 'number' || numel < 0)
    throw fail(`malformed storage reference for key ${String(key)}`);
  if (view !== undefined && view !== null)
    throw fail(`storage ${key} is a view of another storage (pre-1.0 format), not supported`);
  return { kind: 'storage', key, dtype, numel };
}

const isInt = (v: PickleValue | undefined): v is number => Number.isSafeInteger(v);
const intList = (v: PickleValue | undefined): v is number[] =>
  Array.isArray(v) && v.every((x) => isInt(x) && x >= 0);

function reduce(
  fn: PickleValue,
  args: PickleValue,
  fail: (m: string) => Error,
  at: number,
): PickleValue {
  const name = fn && typeof fn === 'object' && 'kind' in fn && fn.kind === 'global' ? fn.name : '';
  if (!ALLOWED_CALLS.has(name)) throw fail(`REDUCE of ${describe(fn)} at byte ${at} not allowed`);
  if (!Array.isArray(args)) throw fail(`REDUCE arguments of ${name} are not a tuple`);
  switch (name) {
    case 'collections.OrderedDict':
      if (args.length > 0) throw fail('OrderedDict built from arguments is not supported');
      return new PyDict();
    case 'torch._utils._rebuild_parameter': {
      const t = args[0];
      if (!t || typeof t !== 'object' || !('kind' in t) || t.kind !== 'tensor')
        throw fail('_rebuild_parameter of something other than a tensor');
      return t;
    }
    default: {
      // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
      const [storage, offset, shape, stride] = args;
      if (!storage || typeof storage !== 'object' || !('kind' in storage))
        throw fail('_rebuild_tensor_v2 without a storage');
      if (storage.kind !== 'storage') throw fail('_rebuild_tensor_v2 without a storage');
      if (!isInt(offset) || offset < 0 || !intList(shape) || !intList(stride))
        throw fail(
          `_rebuild_tensor_v2 of storage ${storage.key}: malformed offset, size or stride`,
        );
      if (shape.length !== stride.length)
        throw fail(`tensor on storage ${storage.key}: size and stride differ in length`);
      return { kind: 'tensor', storage, offset, shape, stride };
    }
  }
}

/**
 * The state dict's tensors by name, in file order. Refuses a pickle whose top value is not a
 * dict of tensors (a whole pickled model, or a training checkpoint with optimizer state).
 */
export function stateDictTensors(value: PickleValue, where: string): Map<string, TensorRef> {
  if (!(value instanceof PyDict))
    throw new WeightsFormatError(`${where}: the pickle holds ${describe(value)}, not a state dict`);
  const out = new Map<string, TensorRef>();
  const notTensors: string[] = [];
  for (const [k, v] of value.items) {
    if (v && typeof v === 'object' && 'kind' in v && v.kind === 'tensor') out.set(String(k), v);
    else notTensors.push(String(k));
  }
  if (notTensors.length > 0) {
    const hint = notTensors.some((k) => ['state_dict', 'model', 'module'].includes(k))
      ? ' (it looks like a training checkpoint: save model.state_dict() alone)'
      : '';
    throw new WeightsFormatError(
      `${where}: entries that are not tensors: ${notTensors.slice(0, 8).join(', ')}${hint}`,
    );
  }
  return out;
}
