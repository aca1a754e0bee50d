/**
 * PerfReader: reads what BPF programs send with `bpf_perf_event_output` to a perf event array
 * (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`), through one mmapped perf ring per CPU.
 */
import { ClosedError, TsbpfError } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { FdWatch, UV_READABLE } from "../sys/fd-watch.js";
import type { Fd } from "../sys/fd.js";
import { MAP_SHARED, mmap, NativeMemory, PROT_READ, PROT_WRITE, type Mapping } from "../sys/libc.js";
import { failMapCall, MapElemAttr } from "../sys/map-attr.js";
import { onlineCpus, PERF_COUNT_SW, PERF_EVENT_IOC, PERF_SAMPLE_RAW, PERF_TYPE, perfEventIoctl, perfEventOpen } from "../sys/perf-event.js";
import { MAP_TYPES } from "../spec/map-type.js";
import { loadPosition, PAGE_SIZE, TWO_32 } from "../ringbuf/layout.js";
import { checkMapType, dupMapFd, mapLabel, type ReaderMap } from "../ringbuf/map-ref.js";
import { checkRecordsOptions, checkWaitOptions, PLAIN_ORDERED, type RecordsOptions, type RingBufWaitOptions } from "../ringbuf/reader.js";
import { Coalescer, COALESCE_MS, EMPTY, type IteratorHost, PacedIterator, Pacer } from "../ringbuf/fair.js";
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
  /**
   * Coalesce wakeups while samples come fast (default true; see `RingBufReaderOptions.coalesce`):
   * up to ~2 ms of delay for a fraction of the CPU. `false` wakes the reader for every wakeup the
   * kernel sends, as libbpf's `perf_buffer__poll` does.
   */
  coalesce?: boolean;
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
const OPTION_KEYS = new Set(["pages", "wakeupEvents", "watermarkBytes", "cpus", "coalesce"]);

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

interface Ring {
  cpu: number;
  event: Fd;
  mapping: Mapping;
  words: Uint32Array;
  data: DataView;
  dataOffset: number;
  dataSize: number;
  /**
   * data_head as the iterator last read it: records up to here are complete, so it reads the
   * head again (three atomic loads, ~20 ns) only when its tail reaches this.
   */
  seenHead: number;
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
  #watch: FdWatch | undefined;
  /** Counts what read() and wait() deliver, to let the event loop turn (see ringbuf/fair.ts). */
  readonly #pacer = new Pacer();
  /** Pauses instead of arming when records come fast (see ringbuf/fair.ts); counts what poll() delivers. */
  readonly #co: Coalescer;
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
    this.#co = new Coalescer(opts.coalesce);
    this.cpus = [...cpus];
    this.ringSize = opts.pages * PAGE_SIZE;
    this.#scratch = new DataView(new ArrayBuffer(Math.min(this.ringSize, 65536)));
    this.#record = new PerfRecord(this.#scratch);
    this.#key = new NativeMemory(4);
    this.#value = new NativeMemory(4);
    this.#fd = dupMapFd(map, what);
    this.#elem = new MapElemAttr(this.#fd.value, this.#key.address, this.#value.address);
    try {
      for (const cpu of cpus) this.#openRing(cpu, opts);
      // One watch over every CPU's event fd, each polled directly by the event loop's epoll (a
      // perf event's poll clears its wakeup flag, so no nested epoll set sits in between).
      this.#watch = new FdWatch(this.#rings.map((r) => r.event.value), UV_READABLE, what, false);
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
    const ring: Ring = { cpu, event, mapping, words, data: new DataView(mapping.buffer, dataOffset, dataSize), dataOffset, dataSize, seenHead: 0 };
    this.#rings.push(ring);
    this.#key.view.setUint32(0, cpu, true);
    this.#value.view.setUint32(0, event.value, true);
    const r = this.#elem.update(0);
    if (r < 0) failMapCall(BpfCmd.BPF_MAP_UPDATE_ELEM, r, `${this.#what}: store the perf event of CPU ${cpu}`);
    perfEventIoctl(event, PERF_EVENT_IOC.ENABLE, 0, `${this.#what}: enable the perf event of CPU ${cpu}`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Samples the kernel dropped because a CPU's ring was full, summed over the `PERF_RECORD_LOST`
   * records this reader has read so far (by poll(), read() or records()). The kernel writes
   * one such record into the ring that lost samples once it has room again, so the count is
   * complete once the rings are drained.
   */
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
    this.#co.batch += n;
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

  /** The fullest ring's share of its size in use (0 once closed): what a coalescing pause let gather. */
  #fill(): number {
    let most = 0;
    if (this.#closed) return 0;
    for (const ring of this.#rings) {
      const tail = Atomics.load(ring.words, TAIL_WORD + 1) * TWO_32 + Atomics.load(ring.words, TAIL_WORD);
      most = Math.max(most, (loadPosition(ring.words, HEAD_WORD) - tail) / ring.dataSize);
    }
    return most;
  }

  /**
   * Wait until some CPU's ring holds a record (true), or the timeout passes or the reader is
   * closed (false); rejects with `signal.reason` when `signal` aborts. The kernel signals after
   * `wakeupEvents` samples (or `watermarkBytes`). Sleeps on the event loop's own epoll, after
   * re-checking every ring once the wait is armed (so a record written while the reader was
   * going to sleep is never slept through); lets the event loop turn every 2 ms of records.
   */
  async wait(options: RingBufWaitOptions = {}): Promise<boolean> {
    this.#live();
    const { timeoutMs, signal } = checkWaitOptions(options, this.#what);
    signal?.throwIfAborted();
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    if (this.#pacer.dueAfter(1)) await this.#pacer.yield(signal);
    for (;;) {
      if (this.#closed) return false;
      if (this.#pending()) return true;
      if (!this.#co.pauseNow()) break;
      // Records come fast: let them gather instead of waking per record (see ringbuf/fair.ts).
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if ((await this.#watch!.pause(Math.min(COALESCE_MS, left), signal)) === "closed") return false;
      this.#co.paused(this.#fill());
      this.#pacer.reset();
    }
    const sleeps = this.#watch!.sleeps;
    this.#co.waitStart();
    const end = await this.#watch!.wait({ ready: this.#hasData, deadline, signal });
    this.#co.waitEnd(this.#watch!.sleeps !== sleeps);
    if (end !== "ready") return false;
    return !this.#closed;
  }

  readonly #hasData = (): boolean => !this.#closed && this.#pending();

  /**
   * The next record as a PerfEvent whose data the caller owns (a copy), waiting when every ring
   * is empty; undefined on timeout or close, rejects with `signal.reason` on abort.
   */
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
   * Records as PerfEvents, waiting (on the event loop) when every ring is empty:
   * `for await (const event of reader.records({ signal }))`. Rings are read in turn, up to
   * RING_TURN records from one before the next. A sample's `data` is a zero-copy view of the
   * ring (or of a copy for a record that wraps around the ring's end), valid until the loop asks
   * for the next event: the reader then hands the space back to the kernel. Copy it
   * (`data.slice()`) to keep it. Ends when the reader is closed; throws `signal.reason` on
   * abort; lets the event loop turn every 2 ms or 16384 records. One iteration at a time.
   */
  records(options: RecordsOptions = {}): AsyncIterableIterator<PerfEvent> {
    this.#live();
    const signal = checkRecordsOptions(options, this.#what);
    if (this.#iterating) throw new TypeError(`${this.#what}: already being iterated`);
    this.#iterating = true;
    return new PerfIterator(this.#rings, this.#what, (lost) => (this.#lost += lost), signal, {
      closed: () => this.#closed,
      wait: (sig) => this.#watch!.wait({ ready: this.#hasData, deadline: Infinity, signal: sig }),
      sleeps: () => this.#watch!.sleeps,
      pause: this.#co.enabled ? (ms, sig) => this.#watch!.pause(ms, sig) : undefined,
      fill: () => this.#fill(),
      done: () => {
        this.#iterating = false;
      },
    });
  }

  /** `for await (const event of reader)`: the same as `records()` without a signal. */
  [Symbol.asyncIterator](): AsyncIterableIterator<PerfEvent> {
    return this.records();
  }

  /** Remove the reader's events from the map, unmap the rings and close every fd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    this.#watch?.close();
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
  coalesce: boolean;
  pages: number;
  wakeupEvents: number;
  watermarkBytes?: number;
  cpus?: readonly number[];
}

function checkOptions(options: PerfReaderOptions, what: string): CheckedOptions {
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: PerfReaderOptions must be an object`);
  for (const k of Object.keys(options)) {
    if (OPTION_KEYS.has(k)) continue;
    const hint = k === "wait" ? ": readers always wait on the event loop's own epoll now (no strategy to choose)" : "";
    throw new TypeError(`${what}: unknown option "${k}"${hint}`);
  }
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
  if (options.coalesce !== undefined && typeof options.coalesce !== "boolean") throw new TypeError(`${what}: coalesce must be a boolean`);
  return { coalesce: options.coalesce !== false, pages, wakeupEvents, watermarkBytes: options.watermarkBytes, cpus };
}

/** Most records the iterator takes from one CPU's ring before it looks at the next ring. */
export const RING_TURN = 256;

/**
 * The iterator of PerfReader.records() (protocol and pacing: PacedIterator): takes records in
 * place, ring after ring, up to RING_TURN from each in turn, and hands a record's space back
 * to the kernel (data_tail) when the next one is asked for.
 */
class PerfIterator extends PacedIterator<PerfEvent> {
  readonly #rings: readonly Ring[];
  readonly #what: string;
  readonly #countLost: (lost: number) => void;
  /** The ring whose record was handed out last, and its tail before/after it. */
  #heldRing: Ring | undefined;
  #heldTail = 0;
  #heldNext = 0;
  #turn = 0;
  #taken = 0;

  constructor(rings: readonly Ring[], what: string, countLost: (lost: number) => void, signal: AbortSignal | undefined, host: IteratorHost) {
    super(signal, host);
    this.#rings = rings;
    this.#what = what;
    this.#countLost = countLost;
  }

  protected handBack(): void {
    const ring = this.#heldRing;
    if (ring) storeTail(ring.words, this.#heldNext, this.#heldTail);
    this.#heldRing = undefined;
  }

  protected take(): PerfEvent | number {
    this.handBack();
    const rings = this.#rings;
    const n = rings.length;
    for (let i = 0; i <= n; i++) {
      if (this.#taken >= RING_TURN) {
        this.#turn = (this.#turn + 1) % n;
        this.#taken = 0;
      }
      const event = this.#takeFrom(rings[this.#turn]);
      if (event) {
        this.#taken++;
        return event;
      }
      this.#turn = (this.#turn + 1) % n;
      this.#taken = 0;
    }
    return EMPTY;
  }

  /** The record at a ring's tail as a PerfEvent over ring memory, held (not yet consumed); other record types are consumed on the way. */
  #takeFrom(ring: Ring): PerfEvent | undefined {
    const words = ring.words;
    let tail = (L_PLAIN ? words[TAIL_WORD + 1] : Atomics.load(words, TAIL_WORD + 1)) * L_TWO_32 + (L_PLAIN ? words[TAIL_WORD] : Atomics.load(words, TAIL_WORD));
    let head = ring.seenHead;
    if (tail >= head) {
      head = loadPosition(words, HEAD_WORD);
      ring.seenHead = head;
      if (tail >= head) return undefined;
    }
    const size = ring.dataSize;
    const data = ring.data;
    while (tail < head) {
      const off = tail & (size - 1);
      const type = data.getUint32(off, true);
      const recSize = data.getUint16(off + 6, true);
      if (recSize < 8 || recSize > size || tail + recSize > head) {
        throw new TsbpfError(`${this.#what}: CPU ${ring.cpu}: record of ${recSize} bytes at position ${tail} does not fit the ring (corrupt ring?)`);
      }
      let view = data;
      let base = off;
      if (off + recSize > size) {
        // Wraps around the end (the perf ring is mapped once): join the parts in a fresh buffer.
        view = new DataView(new ArrayBuffer(recSize));
        const dst = new Uint8Array(view.buffer);
        const first = size - off;
        dst.set(new Uint8Array(data.buffer, data.byteOffset + off, first), 0);
        dst.set(new Uint8Array(data.buffer, data.byteOffset, recSize - first), first);
        base = 0;
      }
      const next = tail + recSize;
      if (type === RECORD_SAMPLE && recSize >= 12) {
        const len = view.getUint32(base + 8, true);
        if (12 + len > recSize) throw new TsbpfError(`${this.#what}: CPU ${ring.cpu}: sample claims ${len} bytes in a ${recSize}-byte record (corrupt ring?)`);
        this.#hold(ring, tail, next);
        return { type: "sample", cpu: ring.cpu, data: new Uint8Array(view.buffer, view.byteOffset + base + 12, len) };
      }
      if (type === RECORD_LOST && recSize >= 24) {
        const lost = Number(view.getBigUint64(base + 16, true));
        this.#countLost(lost);
        this.#hold(ring, tail, next);
        return { type: "lost", cpu: ring.cpu, lost };
      }
      storeTail(words, next, tail);
      tail = next;
    }
    return undefined;
  }

  #hold(ring: Ring, tail: number, next: number): void {
    this.#heldRing = ring;
    this.#heldTail = tail;
    this.#heldNext = next;
  }
}
