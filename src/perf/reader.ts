/**
 * PerfReader: reads what BPF programs send with `bpf_perf_event_output` to a perf event array
 * (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`), through one mmapped perf ring per CPU.
 */
import { ClosedError, TsbpfError } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { EpollSet, type WaitStrategy } from "../sys/epoll.js";
import type { Fd } from "../sys/fd.js";
import { MAP_SHARED, mmap, NativeMemory, PROT_READ, PROT_WRITE, type Mapping } from "../sys/libc.js";
import { failMapCall, MapElemAttr } from "../sys/map-attr.js";
import { onlineCpus, PERF_COUNT_SW, PERF_EVENT_IOC, PERF_SAMPLE_RAW, PERF_TYPE, perfEventIoctl, perfEventOpen } from "../sys/perf-event.js";
import { MAP_TYPES } from "../spec/map-type.js";
import { loadPosition, PAGE_SIZE, TWO_32 } from "../ringbuf/layout.js";
import { checkMapType, dupMapFd, mapLabel, type ReaderMap } from "../ringbuf/map-ref.js";
import { checkWaitOptions, PLAIN_ORDERED, type RingBufWaitOptions } from "../ringbuf/reader.js";
import { retireMapping, trackMapping } from "../ringbuf/retire.js";

/** Options of `new PerfReader(map, options)`. */
export interface PerfReaderOptions {
  /** Data pages of each CPU's ring, a power of two. Default 8 (32 KiB). */
  pages?: number;
  /** Wake a waiting reader after this many samples on a CPU. Default 1. Exclusive with `watermarkBytes`. */
  wakeupEvents?: number;
  /** Wake a waiting reader once this many bytes are pending on a CPU instead. */
  watermarkBytes?: number;
  /** CPUs to read (each must be below the map's max_entries). Default: every online CPU. */
  cpus?: readonly number[];
  /** How async reads wait: `"thread"` (default) or `"poll"` (see src/sys/epoll.ts). */
  wait?: WaitStrategy;
}

/** `PERF_RECORD_LOST`. */
const RECORD_LOST = 2;
/** `PERF_RECORD_SAMPLE`. */
const RECORD_SAMPLE = 9;
/** Word indexes (u32) of data_head, data_tail, data_offset, data_size in `perf_event_mmap_page`. */
const HEAD_WORD = 1024 / 4;
const TAIL_WORD = 1032 / 4;
// Local copies of imported constants used per record (a CommonJS build turns imported
// bindings into getter calls; see src/ringbuf/reader.ts).
const L_PLAIN = PLAIN_ORDERED;
const L_TWO_32 = TWO_32;
const OPTION_KEYS = new Set(["pages", "wakeupEvents", "watermarkBytes", "cpus", "wait"]);

/**
 * One record during a `poll()` callback, reused for every record. A sample's payload is at
 * `offset`/`length` in `view` (the ring's memory, or a scratch copy for a record that wraps
 * around the ring's end): valid until the callback returns. The kernel pads a sample so that
 * its 4-byte size and payload end 8-byte aligned, so `length` can exceed what the program sent
 * by up to 7 bytes, whose content is unspecified (the kernel skips them, leaving old ring data):
 * carry the real length in the payload when it matters. A "lost" record says how many samples the kernel dropped on `cpu`
 * because the ring was full.
 */
export class PerfRecord {
  /** "sample", or "lost" for a PERF_RECORD_LOST. */
  type: "sample" | "lost" = "sample";
  /** The CPU whose ring held the record. */
  cpu = 0;
  /** Memory of the payload (ring or scratch). */
  view: DataView;
  /** Payload offset in `view` (samples). */
  offset = 0;
  /** Payload length (samples; 0 for lost records). */
  length = 0;
  /** Samples lost (lost records; 0 for samples). */
  lost = 0;

  /** @internal */
  constructor(view: DataView) {
    this.view = view;
  }

  /** The payload as a Uint8Array over the ring's memory (no copy; valid until the callback returns). */
  get bytes(): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + this.offset, this.length);
  }

  /** A copy of the payload the caller owns. */
  copy(): Uint8Array {
    return this.bytes.slice();
  }
}

/** What `poll()` calls per record; returning `false` stops the drain after this record. */
export type PerfCallback = (record: PerfRecord) => void | boolean;

/** A record from `read()` or async iteration. */
export type PerfEvent =
  | { readonly type: "sample"; readonly cpu: number; readonly data: Uint8Array }
  | { readonly type: "lost"; readonly cpu: number; readonly lost: number };

/** A record found at a ring's tail by the iterator, not yet consumed. */
interface Peeked {
  ring: Ring;
  event: PerfEvent;
  tail: number;
  next: number;
}

interface Ring {
  cpu: number;
  event: Fd;
  mapping: Mapping;
  words: Uint32Array;
  data: DataView;
  dataOffset: number;
  dataSize: number;
}

/**
 * Reads a perf event array (min kernel 4.4): for each CPU it opens a `PERF_COUNT_SW_BPF_OUTPUT`
 * event with a mmapped ring and stores the event's fd in the map at the CPU's index, so
 * `bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, …)` lands in that CPU's ring.
 * `poll(cb)` drains every ring in place (order is per CPU, not global); `read()` and
 * `for await` wait with epoll off the event loop. Dropped samples arrive as "lost" records and
 * add up in `lostSamples`.
 *
 * The reader owns the perf events, their rings and a duplicate of the map's fd; close() (or
 * `using`) deletes its entries from the map, unmaps the rings and closes every fd.
 *
 * Throws TypeError for a map of another type or bad options, RangeError when an online CPU has
 * no slot in the map, SyscallError when perf_event_open/mmap fails, BpfError when the map
 * refuses an event, ClosedError for a closed map or use after close.
 */
export class PerfReader implements Disposable, AsyncIterable<PerfEvent> {
  /** The CPUs read, in ring order. */
  readonly cpus: readonly number[];
  /** Bytes of each CPU's data ring. */
  readonly ringSize: number;
  readonly #what: string;
  readonly #fd: Fd;
  readonly #rings: Ring[] = [];
  readonly #record: PerfRecord;
  readonly #scratch: DataView;
  readonly #elem: MapElemAttr;
  readonly #key: NativeMemory;
  readonly #value: NativeMemory;
  readonly #epoll: EpollSet;
  #lost = 0;
  #closed = false;
  #iterating = false;

  constructor(map: ReaderMap, options: PerfReaderOptions = {}) {
    checkMapType(map, MAP_TYPES.perf_event_array, "perf_event_array", "PerfReader");
    const what = `perf reader of ${mapLabel(map)}`;
    const opts = checkOptions(options, what);
    const cpus = opts.cpus ?? onlineCpus();
    for (const cpu of cpus) {
      if (cpu >= map.maxEntries) {
        throw new RangeError(`${what}: CPU ${cpu} has no slot in a map of ${map.maxEntries} entries (create it with max_entries ≥ the number of possible CPUs, or pass cpus)`);
      }
    }
    this.#what = what;
    this.cpus = [...cpus];
    this.ringSize = opts.pages * PAGE_SIZE;
    this.#scratch = new DataView(new ArrayBuffer(Math.min(this.ringSize, 65536)));
    this.#record = new PerfRecord(this.#scratch);
    this.#key = new NativeMemory(4);
    this.#value = new NativeMemory(4);
    this.#fd = dupMapFd(map, what);
    this.#elem = new MapElemAttr(this.#fd.value, this.#key.address, this.#value.address);
    try {
      this.#epoll = new EpollSet(what, cpus.length, opts.wait);
      for (const cpu of cpus) this.#openRing(cpu, opts);
    } catch (e) {
      this.#release();
      throw e;
    }
  }

  #openRing(cpu: number, opts: CheckedOptions): void {
    const event = perfEventOpen(
      {
        type: PERF_TYPE.software,
        config: BigInt(PERF_COUNT_SW.bpf_output),
        sampleType: BigInt(PERF_SAMPLE_RAW),
        samplePeriod: 1n,
        wakeupEvents: opts.watermarkBytes ?? opts.wakeupEvents,
        watermark: opts.watermarkBytes !== undefined,
      },
      -1,
      cpu,
      `${this.#what}, CPU ${cpu}`,
    );
    let mapping: Mapping;
    try {
      // Read-write: writing data_tail tells the kernel what was consumed (a read-only ring
      // would be overwritten instead).
      mapping = mmap(PAGE_SIZE + this.ringSize, PROT_READ | PROT_WRITE, MAP_SHARED, event.value, 0);
      trackMapping(mapping);
    } catch (e) {
      event.close();
      throw e;
    }
    const words = new Uint32Array(mapping.buffer);
    const head = new DataView(mapping.buffer);
    // data_offset/data_size (Linux 4.1+); older kernels put the data right after the first page.
    const dataOffset = Number(head.getBigUint64(1040, true)) || PAGE_SIZE;
    const dataSize = Number(head.getBigUint64(1048, true)) || this.ringSize;
    const ring: Ring = { cpu, event, mapping, words, data: new DataView(mapping.buffer, dataOffset, dataSize), dataOffset, dataSize };
    this.#rings.push(ring);
    this.#epoll.add(event.value, this.#rings.length - 1);
    this.#key.view.setUint32(0, cpu, true);
    this.#value.view.setUint32(0, event.value, true);
    const r = this.#elem.update(0);
    if (r < 0) failMapCall(BpfCmd.BPF_MAP_UPDATE_ELEM, r, `${this.#what}: store the perf event of CPU ${cpu}`);
    perfEventIoctl(event, PERF_EVENT_IOC.ENABLE, 0, `${this.#what}: enable the perf event of CPU ${cpu}`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Samples the kernel dropped (ring full), summed over the "lost" records read so far. */
  get lostSamples(): number {
    return this.#lost;
  }

  #live(): void {
    if (this.#closed) throw new ClosedError(this.#what);
  }

  /**
   * Drain every CPU's ring, calling `callback` with each record (samples and "lost" records)
   * in order per CPU. Returns the number of records given to the callback; at most `limit`.
   * The record's memory is valid only until the callback returns. If the callback throws, the
   * record counts as consumed; returning `false` stops after it. Throws ClosedError after
   * close, TsbpfError for a corrupt ring.
   */
  poll(callback: PerfCallback, limit = Infinity): number {
    this.#live();
    if (typeof callback !== "function") throw new TypeError(`${this.#what}: poll() needs a callback function`);
    let n = 0;
    for (const ring of this.#rings) {
      if (n >= limit) break;
      const r = this.#drainRing(ring, callback, limit - n);
      n += r.count;
      if (r.stopped) break;
    }
    return n;
  }

  #drainRing(ring: Ring, callback: PerfCallback, limit: number): { count: number; stopped: boolean } {
    const words = ring.words;
    const data = ring.data;
    const size = ring.dataSize;
    const mask = size - 1;
    const rec = this.#record;
    rec.cpu = ring.cpu;
    let tail = Atomics.load(words, TAIL_WORD + 1) * L_TWO_32 + Atomics.load(words, TAIL_WORD);
    const head = loadPosition(words, HEAD_WORD);
    let n = 0;
    while (tail < head && n < limit) {
      const off = tail & mask;
      // Records are 8-byte aligned and the ring a power of two: the 8-byte header never wraps.
      const type = data.getUint32(off, true);
      const recSize = data.getUint16(off + 6, true);
      if (recSize < 8 || recSize > size || tail + recSize > head) {
        throw new TsbpfError(`${this.#what}: CPU ${ring.cpu}: record of ${recSize} bytes at position ${tail} does not fit the ring (corrupt ring?)`);
      }
      let view = data;
      let base = off;
      if (off + recSize > size) {
        // Wraps around the end: the perf ring is mapped once, so join the two parts.
        const scratch = this.#scratchFor(recSize);
        const first = size - off;
        const dst = new Uint8Array(scratch.buffer, 0, recSize);
        dst.set(new Uint8Array(data.buffer, data.byteOffset + off, first), 0);
        dst.set(new Uint8Array(data.buffer, data.byteOffset, recSize - first), first);
        view = scratch;
        base = 0;
      }
      const next = tail + recSize;
      let deliver = false;
      if (type === RECORD_SAMPLE && recSize >= 12) {
        const len = view.getUint32(base + 8, true);
        if (12 + len > recSize) throw new TsbpfError(`${this.#what}: CPU ${ring.cpu}: sample claims ${len} bytes in a ${recSize}-byte record (corrupt ring?)`);
        rec.type = "sample";
        rec.view = view;
        rec.offset = base + 12;
        rec.length = len;
        rec.lost = 0;
        deliver = true;
      } else if (type === RECORD_LOST && recSize >= 24) {
        rec.type = "lost";
        rec.view = view;
        rec.offset = base + 24;
        rec.length = 0;
        rec.lost = Number(view.getBigUint64(base + 16, true));
        this.#lost += rec.lost;
        deliver = true;
      }
      let more: void | boolean = true;
      if (deliver) {
        n++;
        try {
          more = callback(rec);
        } finally {
          storeTail(words, next, tail);
        }
      } else {
        storeTail(words, next, tail);
      }
      tail = next;
      if (more === false) return { count: n, stopped: true };
    }
    return { count: n, stopped: false };
  }

  #scratchFor(size: number): DataView {
    if (size <= this.#scratch.byteLength) return this.#scratch;
    return new DataView(new ArrayBuffer(size));
  }

  #pending(): boolean {
    for (const ring of this.#rings) {
      const tail = Atomics.load(ring.words, TAIL_WORD + 1) * TWO_32 + Atomics.load(ring.words, TAIL_WORD);
      if (loadPosition(ring.words, HEAD_WORD) > tail) return true;
    }
    return false;
  }

  /**
   * Wait until some CPU's ring holds a record (true), or the timeout passes or the reader is
   * closed (false). The kernel signals after `wakeupEvents` samples (or `watermarkBytes`).
   * Never blocks the event loop.
   */
  async wait(options: RingBufWaitOptions = {}): Promise<boolean> {
    this.#live();
    const timeoutMs = checkWaitOptions(options, this.#what);
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) return false;
      if (this.#pending()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#epoll.wait(left, () => !this.#closed && this.#pending());
    }
  }

  /** The next record as a PerfEvent whose data the caller owns (a copy), waiting when every ring is empty; undefined on timeout or close. */
  async read(options: RingBufWaitOptions = {}): Promise<PerfEvent | undefined> {
    if (!(await this.wait(options)) || this.#closed) return undefined;
    let out: PerfEvent | undefined;
    this.poll((r) => {
      out = toEvent(r, true);
      return false;
    }, 1);
    return out;
  }

  /**
   * Records as PerfEvents, CPU by CPU in turn, waiting (epoll) when every ring is empty; ends
   * when the reader is closed. A sample's `data` is a zero-copy view of the ring (or of a
   * scratch copy for a record that wraps), valid until the loop asks for the next event: the
   * reader then hands the space back to the kernel. Copy it (`data.slice()`) to keep it. One
   * iteration at a time per reader.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<PerfEvent, void, undefined> {
    this.#live();
    if (this.#iterating) throw new TypeError(`${this.#what}: already being iterated`);
    this.#iterating = true;
    let turn = 0;
    try {
      for (;;) {
        if (this.#closed) return;
        let found: Peeked | undefined;
        for (let i = 0; i < this.#rings.length && !found; i++) {
          const ring = this.#rings[(turn + i) % this.#rings.length];
          found = this.#peekRing(ring);
        }
        if (!found) {
          if (!(await this.wait())) return;
          continue;
        }
        turn = (this.#rings.indexOf(found.ring) + 1) % this.#rings.length;
        try {
          yield found.event;
        } finally {
          if (!this.#closed) storeTail(found.ring.words, found.next, found.tail);
        }
      }
    } finally {
      this.#iterating = false;
    }
  }

  /** The record at a ring's tail as a PerfEvent over ring memory, not yet consumed; other record types are consumed on the way. */
  #peekRing(ring: Ring): Peeked | undefined {
    const words = ring.words;
    let tail = Atomics.load(words, TAIL_WORD + 1) * L_TWO_32 + Atomics.load(words, TAIL_WORD);
    const head = loadPosition(words, HEAD_WORD);
    while (tail < head) {
      const off = tail & (ring.dataSize - 1);
      const type = ring.data.getUint32(off, true);
      const recSize = ring.data.getUint16(off + 6, true);
      if (recSize < 8 || recSize > ring.dataSize || tail + recSize > head) {
        throw new TsbpfError(`${this.#what}: CPU ${ring.cpu}: record of ${recSize} bytes at position ${tail} does not fit the ring (corrupt ring?)`);
      }
      let view = ring.data;
      let base = off;
      if (off + recSize > ring.dataSize) {
        // A fresh buffer: the event may outlive the next peek of another ring.
        view = new DataView(new ArrayBuffer(recSize));
        const dst = new Uint8Array(view.buffer);
        const first = ring.dataSize - off;
        dst.set(new Uint8Array(ring.data.buffer, ring.data.byteOffset + off, first), 0);
        dst.set(new Uint8Array(ring.data.buffer, ring.data.byteOffset, recSize - first), first);
        base = 0;
      }
      const next = tail + recSize;
      if (type === RECORD_SAMPLE && recSize >= 12) {
        const len = view.getUint32(base + 8, true);
        if (12 + len > recSize) throw new TsbpfError(`${this.#what}: CPU ${ring.cpu}: sample claims ${len} bytes in a ${recSize}-byte record (corrupt ring?)`);
        const data = new Uint8Array(view.buffer, view.byteOffset + base + 12, len);
        return { ring, next, tail, event: { type: "sample", cpu: ring.cpu, data } };
      }
      if (type === RECORD_LOST && recSize >= 24) {
        const lost = Number(view.getBigUint64(base + 16, true));
        this.#lost += lost;
        return { ring, next, tail, event: { type: "lost", cpu: ring.cpu, lost } };
      }
      storeTail(words, next, tail);
      tail = next;
    }
    return undefined;
  }

  /** Remove the reader's events from the map, unmap the rings and close every fd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    this.#epoll?.close();
    for (const ring of this.#rings) {
      if (!this.#fd.closed) {
        // Empty the slots this reader filled, so programs stop writing to a closed ring (the
        // kernel cannot tell whose event a slot holds: userspace cannot read them back).
        this.#key.view.setUint32(0, ring.cpu, true);
        this.#elem.delete();
      }
      retireMapping(ring.mapping);
      ring.event.close();
    }
    this.#rings.length = 0;
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function toEvent(r: PerfRecord, copy: boolean): PerfEvent {
  return r.type === "lost" ? { type: "lost", cpu: r.cpu, lost: r.lost } : { type: "sample", cpu: r.cpu, data: copy ? r.copy() : r.bytes };
}

/**
 * Publish a perf ring's data_tail: low half, then high half when it changed, with plain
 * stores where they are release stores already (PLAIN_ORDERED, see RingBufReader).
 */
function storeTail(words: Uint32Array, pos: number, previous: number): void {
  const lo = pos >>> 0;
  if (L_PLAIN) words[TAIL_WORD] = lo;
  else Atomics.store(words, TAIL_WORD, lo);
  if (lo < (previous >>> 0)) Atomics.store(words, TAIL_WORD + 1, Math.floor(pos / L_TWO_32));
}

interface CheckedOptions {
  pages: number;
  wakeupEvents: number;
  watermarkBytes?: number;
  cpus?: readonly number[];
  wait: WaitStrategy;
}

function checkOptions(options: PerfReaderOptions, what: string): CheckedOptions {
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: PerfReaderOptions must be an object`);
  for (const k of Object.keys(options)) if (!OPTION_KEYS.has(k)) throw new TypeError(`${what}: unknown option "${k}"`);
  const pages = options.pages ?? 8;
  if (!Number.isInteger(pages) || pages < 1 || pages > 1 << 16 || (pages & (pages - 1)) !== 0) {
    throw new RangeError(`${what}: pages must be a power of two from 1 to 65536, got ${pages}`);
  }
  const wakeupEvents = options.wakeupEvents ?? 1;
  if (!Number.isInteger(wakeupEvents) || wakeupEvents < 1 || wakeupEvents > 0xffffffff) throw new RangeError(`${what}: wakeupEvents must be a positive integer`);
  if (options.watermarkBytes !== undefined) {
    if (options.wakeupEvents !== undefined) throw new TypeError(`${what}: give wakeupEvents or watermarkBytes, not both`);
    const w = options.watermarkBytes;
    if (!Number.isInteger(w) || w < 1 || w > pages * PAGE_SIZE) throw new RangeError(`${what}: watermarkBytes must be from 1 to the ring size (${pages * PAGE_SIZE})`);
  }
  let cpus: number[] | undefined;
  if (options.cpus !== undefined) {
    if (!Array.isArray(options.cpus) || options.cpus.length === 0) throw new TypeError(`${what}: cpus must be a non-empty array of CPU numbers`);
    cpus = [...new Set(options.cpus)];
    for (const c of cpus) if (!Number.isInteger(c) || c < 0) throw new RangeError(`${what}: bad CPU number ${c}`);
  }
  const wait = options.wait ?? "thread";
  if (wait !== "thread" && wait !== "poll") throw new TypeError(`${what}: wait must be "thread" or "poll"`);
  return { pages, wakeupEvents, watermarkBytes: options.watermarkBytes, cpus, wait };
}
