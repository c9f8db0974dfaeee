// The chunker's gear loop (findCut in chunker.ts) as a WebAssembly function, for large files.
//
// Why: in V8 every `gear[buf[i]]` of the JS loop is two bounds-checked typed-array loads, and full
// speed only comes after tier-up, which made chunking the largest single cost of putting a big
// file. The same loop in wasm, four bytes per iteration, runs about twice as fast from the first
// call: wasm memory accesses are unchecked (guard pages) and the table is one add away. The module is assembled below from named instructions, so there is no toolchain
// and no opaque blob; tests compare it cut for cut with findCut.
//
// Memory layout of a GearScanner: the 256-entry gear table at address 0, data from DATA_BASE on.
import { Chunker, CHUNK_PROFILE_V1, GEAR, masksFor, type ChunkParams, type CutMasks } from './chunker.js';

const PAGE = 65536;
/** First byte available for data: the gear table uses the first KiB, the rest of page 0 is spare. */
export const DATA_BASE = PAGE;

// --- a minimal wasm encoder -------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));

const I32 = 0x7f;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  ret: [0x0f],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  /** i32.load align=4 offset=0 */
  load: [0x28, 0x02, 0x00],
  /** i32.load8_u align=1 offset=k */
  load8: (offset: number) => [0x2d, 0x00, ...uleb(offset)],
  const: (n: number) => [0x41, ...sleb(n)],
  eqz: [0x45],
  gtU: [0x4b],
  geU: [0x4f],
  add: [0x6a],
  and: [0x71],
  shl: [0x74],
};

// cut(i, stop1, stop2, small, large) -> end of the cut, or 0 when there is none before stop2.
// Exactly findCut's two loops: h = (h << 1) + gear[byte]; test `small` below stop1, `large` below stop2.
const P_I = 0, P_STOP1 = 1, P_STOP2 = 2, P_SMALL = 3, P_LARGE = 4, L_H = 5;

/** h = (h << 1) + gear[mem[i + k]]; leaves h & mask == 0 on the stack. */
function gearStep(k: number, mask: number): number[] {
  return [
    ...op.get(L_H), ...op.const(1), ...op.shl,
    ...op.get(P_I), ...op.load8(k), ...op.const(2), ...op.shl, ...op.load,
    ...op.add, ...op.tee(L_H),
    ...op.get(mask), ...op.and, ...op.eqz,
  ];
}

/** One byte at a time (loop tails): on a match, i += 1 and branch `toFound`. */
function singleStep(mask: number, toFound: number): number[] {
  return [...gearStep(0, mask), ...op.get(P_I), ...op.const(1), ...op.add, ...op.set(P_I), ...op.brIf(toFound)];
}

/** Four bytes per iteration; a match at byte k sets i += k + 1 and branches `toFound` (counted from the loop). */
function unrolledLoop(mask: number, stop: number, toExit: number, toFound: number): number[] {
  const body: number[] = [...op.loop];
  // leave for the one-byte tail when fewer than 4 bytes remain before `stop`
  body.push(...op.get(P_I), ...op.const(4), ...op.add, ...op.get(stop), ...op.gtU, ...op.brIf(toExit));
  for (let k = 0; k < 4; k++) {
    // inside `if`, one more label is open
    body.push(...gearStep(k, mask), ...op.if, ...op.get(P_I), ...op.const(k + 1), ...op.add, ...op.set(P_I), ...op.br(toFound + 1), ...op.end);
  }
  body.push(...op.get(P_I), ...op.const(4), ...op.add, ...op.set(P_I), ...op.br(0), ...op.end);
  return body;
}

function cutBody(): number[] {
  const b: number[] = [];
  b.push(...op.block); //                     $found
  b.push(...op.block); //                       $phase2
  b.push(...op.block); //                         $tail1
  b.push(...unrolledLoop(P_SMALL, P_STOP1, 1, 3)); // loop: tail1=1, phase2=2, found=3
  b.push(...op.end); //                           end $tail1
  b.push(...op.loop, ...op.get(P_I), ...op.get(P_STOP1), ...op.geU, ...op.brIf(1), ...singleStep(P_SMALL, 2), ...op.br(0), ...op.end);
  b.push(...op.end); //                         end $phase2
  b.push(...op.block); //                         $tail2
  b.push(...unrolledLoop(P_LARGE, P_STOP2, 1, 2)); // loop: tail2=1, found=2
  b.push(...op.end); //                           end $tail2
  b.push(...op.loop, ...op.get(P_I), ...op.get(P_STOP2), ...op.geU, ...op.if, ...op.const(0), ...op.ret, ...op.end);
  b.push(...singleStep(P_LARGE, 1), ...op.br(0), ...op.end);
  b.push(...op.end); //                       end $found
  b.push(...op.get(P_I), ...op.end);
  return b;
}

let compiled: WebAssembly.Module | null = null;

/** The compiled module (once per thread; compiling takes well under a millisecond). */
function gearModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const code = [...vec([[...uleb(1), I32]]), ...cutBody()];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), ...vec([[I32]])]])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('cut'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ];
  compiled = new WebAssembly.Module(new Uint8Array(bytes));
  return compiled;
}

/** findCut over a private wasm memory: callers copy bytes into `bytes` at DATA_BASE or later. */
export class GearScanner {
  readonly bytes: Uint8Array;
  private readonly cutFn: (i: number, stop1: number, stop2: number, small: number, large: number) => number;
  private readonly masks: CutMasks;

  constructor(
    readonly params: ChunkParams,
    /** bytes of data the memory must hold above DATA_BASE */
    capacity: number,
  ) {
    const memory = new WebAssembly.Memory({ initial: Math.ceil((DATA_BASE + capacity) / PAGE) });
    const table = new DataView(memory.buffer);
    // wasm is little-endian whatever the host is
    for (let i = 0; i < 256; i++) table.setInt32(i * 4, GEAR[i]!, true);
    const instance = new WebAssembly.Instance(gearModule(), { env: { memory } });
    this.cutFn = instance.exports.cut as GearScanner['cutFn'];
    this.bytes = new Uint8Array(memory.buffer);
    this.masks = masksFor(params);
  }

  /** findCut(bytes, start, end, params): the length of the next chunk at `start`, or -1 when more bytes are needed. */
  findCut(start: number, end: number): number {
    const p = this.params;
    const available = end - start;
    if (available <= p.minSize) return -1;
    const limit = Math.min(available, p.maxSize);
    const normal = Math.min(limit, p.avgSize);
    const at = this.cutFn(start + p.minSize, start + normal, start + limit, this.masks.small | 0, this.masks.large | 0);
    if (at !== 0) return at - start;
    return limit === p.maxSize ? limit : -1;
  }
}

/**
 * Streaming chunker over a GearScanner: the same cuts as Chunker, for bytes that are copied in
 * anyway (the content worker receives blocks it must scan). Emitted chunks are views into wasm
 * memory, valid only until `emit` returns.
 */
export class WasmChunker {
  private readonly scanner: GearScanner;
  /** bytes at DATA_BASE after the last cut, waiting for more input (fewer than maxSize) */
  private carry = 0;

  constructor(
    params: ChunkParams,
    /** largest piece copied in at once; longer pushes are taken in pieces */
    private readonly blockBytes = 4 << 20,
  ) {
    this.scanner = new GearScanner(params, params.maxSize + blockBytes);
  }

  push(block: Uint8Array, emit: (chunk: Buffer) => void): void {
    const mem = this.scanner.bytes;
    for (let off = 0; off < block.length; off += this.blockBytes) {
      const piece = block.subarray(off, Math.min(block.length, off + this.blockBytes));
      mem.set(piece, DATA_BASE + this.carry);
      const end = DATA_BASE + this.carry + piece.length;
      let pos = DATA_BASE;
      for (let n: number; (n = this.scanner.findCut(pos, end)) > 0; pos += n) emit(Buffer.from(mem.buffer, mem.byteOffset + pos, n));
      // findCut cuts at maxSize at the latest, so what is left is shorter than maxSize
      mem.copyWithin(DATA_BASE, pos, end);
      this.carry = end - pos;
    }
  }

  finish(emit: (chunk: Buffer) => void): void {
    if (this.carry > 0) emit(Buffer.from(this.scanner.bytes.buffer, DATA_BASE, this.carry));
    this.carry = 0;
  }

  /** Drop what is held, to start a new stream with the same memory. */
  reset(): void {
    this.carry = 0;
  }

  get params(): ChunkParams {
    return this.scanner.params;
  }
}

/** One scanner per profile for the whole thread: a scan runs synchronously, start to end. */
const scanners = new Map<ChunkParams, GearScanner>();

/**
 * Chunker whose gear loop runs in wasm: the same cuts, chunks still views into the pushed blocks.
 * The bytes a cut may look at (maxSize at most) are first copied into the scanner's memory: the
 * copy costs far less than the JS loop, which a short-lived writer (a datum's appended output,
 * a put of a few files) runs mostly before V8 has optimized it.
 */
export class ScanningChunker extends Chunker {
  private readonly scanner: GearScanner;

  constructor(params: ChunkParams = CHUNK_PROFILE_V1) {
    super(params);
    let scanner = scanners.get(params);
    if (!scanner) scanners.set(params, (scanner = new GearScanner(params, params.maxSize)));
    this.scanner = scanner;
  }

  protected override cut(buf: Uint8Array, start: number, end: number): number {
    const { minSize, avgSize, maxSize } = this.params;
    const available = end - start;
    // findCut returns before reading a byte when minSize or fewer bytes are available
    if (available <= minSize) return -1;
    // Most cuts fall before twice the average: look there first, copying half of what maxSize
    // would take. A cut found in a shorter stretch is the one the whole stretch gives (the scan
    // runs forward from the same start, with the same masks up to avgSize and past it); none
    // found there, and the whole stretch is scanned.
    const near = 2 * avgSize;
    if (available > near && near < maxSize) {
      this.scanner.bytes.set(buf.subarray(start, start + near), DATA_BASE);
      const n = this.scanner.findCut(DATA_BASE, DATA_BASE + near);
      if (n > 0) return n;
    }
    const n = Math.min(available, maxSize);
    this.scanner.bytes.set(buf.subarray(start, start + n), DATA_BASE);
    return this.scanner.findCut(DATA_BASE, DATA_BASE + n);
  }
}
