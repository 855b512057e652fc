/**
 * A pickle opcode interpreter (protocols 0-5) that never executes anything. GLOBAL and STACK_GLOBAL
 * resolve only through the allow-list of inert stand-ins (stand-ins.ts); REDUCE, NEWOBJ, INST, OBJ and
 * BUILD on a stand-in only record data. Every failure names the problem and the byte offset.
 */
import { CheckpointImportError } from '../errors.js';
import { DEFAULT_LIMITS, type PickleLimits } from './limits.js';
import type { BufferedReader } from './source.js';
import { build, call, construct, resolveGlobal, type StandInContext } from './stand-ins.js';
import { LazyString, PyDict, PyGlobal, PySet, PyTuple, typeName, type PyValue } from './values.js';

export interface UnpickleOptions extends StandInContext {
  limits?: PickleLimits;
  /** Resolves persistent ids; only torch's storage streams have them, everywhere else they are refused. */
  persistentLoad?: (pid: PyValue, offset: number) => PyValue;
}

const MARK = Symbol('mark');
type Slot = PyValue | typeof MARK;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function unpickle(reader: BufferedReader, options: UnpickleOptions): PyValue {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const stack: Slot[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let opStart = reader.position;

  const fail = (message: string): never => {
    throw new CheckpointImportError(`${message} (opcode at byte ${opStart})`);
  };
  const push = (v: PyValue): void => {
    if (stack.length >= limits.maxStack) fail(`the pickle stack grew past ${limits.maxStack} values`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail('stack underflow');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const at = marks.pop();
    if (at === undefined) fail('no MARK to pop to');
    const items = stack.splice(at!);
    items.shift();
    return items as PyValue[];
  };
  const put = (index: number): void => {
    if (!Number.isInteger(index) || index < 0 || index >= limits.maxMemo) fail(`memo index ${index} is outside 0..${limits.maxMemo - 1}`);
    if (!memo.has(index) && memo.size >= limits.maxMemo) fail(`the memo grew past ${limits.maxMemo} entries`);
    memo.set(index, top());
  };
  const get = (index: number): void => {
    if (!memo.has(index)) fail(`memo index ${index} was never stored`);
    push(memo.get(index)!);
  };
  const checkSize = (n: number | bigint, what: string): number => {
    const v = Number(n);
    if (v > reader.end - reader.position) {
      fail(`truncated file: ${what} of ${v} bytes does not fit in the ${reader.end - reader.position} bytes left`);
    }
    return v;
  };
  const text = (n: number, what: string): PyValue => {
    if (n > limits.lazyThreshold) return new LazyString(reader.skip(n, what));
    try {
      return utf8.decode(reader.bytes(n, what));
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  };
  const binary = (n: number, what: string): PyValue => (n > limits.lazyThreshold ? reader.skip(n, what) : reader.bytes(n, what));
  const u32 = (what: string): number => {
    const b = reader.bytes(4, what);
    return (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000;
  };
  const u64 = (what: string): number => {
    const lo = u32(what);
    const hi = u32(what);
    return hi * 0x100000000 + lo;
  };
  const longFromBytes = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const intText = (line: string): number | bigint => {
    const s = line.endsWith('L') ? line.slice(0, -1) : line;
    if (!/^[+-]?\d+$/.test(s)) fail(`bad integer literal '${line.slice(0, 40)}'`);
    const v = BigInt(s);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const addItems = (container: PyValue, items: PyValue[], op: string): void => {
    if (Array.isArray(container)) {
      if (container.length + items.length > limits.maxContainer) fail(`a list grew past ${limits.maxContainer} items`);
      for (const it of items) container.push(it);
    } else if (container instanceof PySet) {
      if (container.items.length + items.length > limits.maxContainer) fail(`a set grew past ${limits.maxContainer} items`);
      container.items.push(...items);
    } else fail(`${op} on a ${typeName(container)}`);
  };
  const setItems = (container: PyValue, items: PyValue[]): void => {
    if (!(container instanceof PyDict)) return fail(`SETITEM(S) on a ${typeName(container)}`);
    if (items.length % 2) fail('SETITEMS with an odd number of values');
    if (container.map.size + items.length / 2 > limits.maxContainer) fail(`a dict grew past ${limits.maxContainer} items`);
    for (let i = 0; i < items.length; i += 2) container.map.set(items[i], items[i + 1]);
  };
  const global = (module: string, name: string): PyGlobal => {
    try {
      return resolveGlobal(module, name);
    } catch (err) {
      return fail((err as Error).message);
    }
  };
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof CheckpointImportError && / \(opcode at byte \d+\)$/.test(err.message)) throw err;
      return fail((err as Error).message);
    }
  };

  for (;;) {
    opStart = reader.position;
    const op = reader.byte();
    switch (op) {
      case 0x80: { // PROTO
        const proto = reader.byte('the protocol number');
        if (proto > 5) fail(`pickle protocol ${proto} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: only a read-ahead hint
        u64('a frame length');
        break;
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0] as PyValue;
      }
      case 0x28: // MARK
        if (marks.length >= limits.maxMarks) fail(`more than ${limits.maxMarks} nested MARKs`);
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x49: { // INT
        const line = reader.line('an INT literal');
        push(line === '01' ? true : line === '00' ? false : intText(line));
        break;
      }
      case 0x4c: push(intText(reader.line('a LONG literal'))); break; // LONG
      case 0x4a: { // BININT
        const b = reader.bytes(4, 'a BININT');
        push(b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24));
        break;
      }
      case 0x4b: push(reader.byte('a BININT1')); break; // BININT1
      case 0x4d: { // BININT2
        const b = reader.bytes(2, 'a BININT2');
        push(b[0] | (b[1] << 8));
        break;
      }
      case 0x8a: push(longFromBytes(reader.bytes(reader.byte('a LONG1 length'), 'a LONG1'))); break; // LONG1
      case 0x8b: { // LONG4
        const n = u32('a LONG4 length');
        if (n > 1024) fail(`a LONG4 integer of ${n} bytes`);
        push(longFromBytes(reader.bytes(n, 'a LONG4')));
        break;
      }
      case 0x46: { // FLOAT
        const line = reader.line('a FLOAT literal');
        const v = Number(line);
        if (Number.isNaN(v) && !/^[+-]?nan$/i.test(line)) fail(`bad float literal '${line.slice(0, 40)}'`);
        push(v);
        break;
      }
      case 0x47: push(new DataView(reader.bytes(8, 'a BINFLOAT').buffer).getFloat64(0, false)); break; // BINFLOAT
      case 0x53: push(pythonStringLiteral(reader.line('a STRING literal'), fail)); break; // STRING
      case 0x54: { // BINSTRING
        const n = checkSize(u32('a BINSTRING length'), 'a BINSTRING');
        push(Buffer.from(reader.bytes(Math.min(n, limits.maxString + 1), 'a BINSTRING')).toString('latin1'));
        if (n > limits.maxString) fail(`a BINSTRING of ${n} bytes is longer than ${limits.maxString}`);
        break;
      }
      case 0x55: push(Buffer.from(reader.bytes(reader.byte('a length'), 'a SHORT_BINSTRING')).toString('latin1')); break;
      case 0x56: push(reader.line('a UNICODE literal', limits.maxString)); break; // UNICODE (raw-unicode-escape; ASCII in practice)
      case 0x58: push(text(checkSize(u32('a BINUNICODE length'), 'a BINUNICODE string'), 'a BINUNICODE string')); break;
      case 0x8c: push(text(reader.byte('a length'), 'a SHORT_BINUNICODE string')); break;
      case 0x8d: push(text(checkSize(u64('a BINUNICODE8 length'), 'a BINUNICODE8 string'), 'a BINUNICODE8 string')); break;
      case 0x42: push(binary(checkSize(u32('a BINBYTES length'), 'a BINBYTES payload'), 'a BINBYTES payload')); break;
      case 0x43: push(binary(reader.byte('a length'), 'a SHORT_BINBYTES payload')); break;
      case 0x8e: push(binary(checkSize(u64('a BINBYTES8 length'), 'a BINBYTES8 payload'), 'a BINBYTES8 payload')); break;
      case 0x96: push(binary(checkSize(u64('a BYTEARRAY8 length'), 'a BYTEARRAY8 payload'), 'a BYTEARRAY8 payload')); break;
      case 0x97: fail('out-of-band buffers (protocol 5 NEXT_BUFFER) never occur in a checkpoint file'); break;
      case 0x98: break; // READONLY_BUFFER: bytes here are immutable anyway
      case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: push(new PyTuple(popMark())); break; // TUPLE
      case 0x85: push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); const l: PyValue[] = []; addItems(l, items, 'LIST'); push(l); break; } // LIST
      case 0x61: { const v = pop(); addItems(top(), [v], 'APPEND'); break; } // APPEND
      case 0x65: { const items = popMark(); addItems(top(), items, 'APPENDS'); break; } // APPENDS
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const d = new PyDict(); setItems(d, items); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: push(new PySet()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); addItems(top(), items, 'ADDITEMS'); break; } // ADDITEMS
      case 0x91: { const s = new PySet(true); addItems(s, popMark(), 'FROZENSET'); push(s); break; } // FROZENSET
      case 0x70: put(Number(intText(reader.line('a PUT index')))); break; // PUT
      case 0x71: put(reader.byte('a BINPUT index')); break; // BINPUT
      case 0x72: put(u32('a LONG_BINPUT index')); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x67: get(Number(intText(reader.line('a GET index')))); break; // GET
      case 0x68: get(reader.byte('a BINGET index')); break; // BINGET
      case 0x6a: get(u32('a LONG_BINGET index')); break; // LONG_BINGET
      case 0x63: { // GLOBAL
        const module = reader.line('a GLOBAL module name', 256);
        const name = reader.line('a GLOBAL name', 256);
        push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x69: { // INST
        const cls = global(reader.line('an INST module name', 256), reader.line('an INST name', 256));
        const args = popMark();
        push(guard(() => construct(cls, args, options)));
        break;
      }
      case 0x6f: { // OBJ
        const items = popMark();
        const cls = items.shift();
        push(guard(() => construct(asGlobal(cls, 'OBJ', fail), items, options)));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail(`REDUCE arguments must be a tuple, got ${typeName(args)}`);
        push(guard(() => call(asGlobal(fn, 'REDUCE', fail), (args as PyTuple).items, options)));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) fail(`NEWOBJ arguments must be a tuple, got ${typeName(args)}`);
        push(guard(() => construct(asGlobal(cls, 'NEWOBJ', fail), (args as PyTuple).items, options)));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple) || !(kwargs instanceof PyDict) || kwargs.map.size) fail('NEWOBJ_EX with keyword arguments');
        push(guard(() => construct(asGlobal(cls, 'NEWOBJ_EX', fail), (args as PyTuple).items, options)));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        guard(() => build(obj, state));
        break;
      }
      case 0x50: case 0x51: { // PERSID, BINPERSID
        const pid = op === 0x50 ? reader.line('a PERSID') : pop();
        if (!options.persistentLoad) fail('a persistent id outside a torch storage stream');
        push(guard(() => options.persistentLoad!(pid, opStart)));
        break;
      }
      case 0x82: case 0x83: case 0x84:
        fail('extension-registry codes (EXT1/EXT2/EXT4) never occur in a checkpoint file');
        break;
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

function asGlobal(v: PyValue | undefined, op: string, fail: (m: string) => never): PyGlobal {
  if (!(v instanceof PyGlobal)) return fail(`${op} on a ${typeName(v)}, not on an allowed class or function`);
  return v;
}

/** Decodes a protocol-0 STRING literal: a quoted Python bytes repr. */
function pythonStringLiteral(line: string, fail: (m: string) => never): string {
  const q = line[0];
  if (line.length < 2 || (q !== "'" && q !== '"') || line[line.length - 1] !== q) fail('STRING literal is not quoted');
  const body = line.slice(1, -1);
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => (e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : escapes[e] ?? `\\${e}`));
}

