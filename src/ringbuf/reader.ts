/**
 * RingBufReader: the userspace consumer of a BPF ring buffer (`BPF_MAP_TYPE_RINGBUF`). Records
 * are read in place in the mmapped data area; nothing is copied unless the caller copies.
 */
import { ClosedError, TsbpfError } from "../errors.js";
import { FdWatch, UV_READABLE } from "../sys/fd-watch.js";
import type { Fd } from "../sys/fd.js";
import { MAP_SHARED, mmap, PROT_READ, PROT_WRITE, type Mapping } from "../sys/libc.js";
import { MAP_TYPES } from "../spec/map-type.js";
import { BUSY_BIT, DISCARD_BIT, HEADER_SIZE, LENGTH_MASK, loadPosition, PAGE_SIZE, TWO_32 } from "./layout.js";
import { retireMapping, trackMapping } from "./retire.js";
import { checkMapType, dupMapFd, mapLabel, type ReaderMap } from "./map-ref.js";
import { Coalescer, COALESCE_MS, EMPTY, HEAD_BUSY, type IteratorHost, nextTurn, PacedIterator, Pacer } from "./fair.js";

/**
 * Options of `new RingBufReader(map, options)`. Waiting needs no tuning: readers wait on the
 * event loop's own epoll (src/sys/fd-watch.ts), the fastest design measured.
 */
export interface RingBufReaderOptions {
  /**
   * Coalesce wakeups while records come fast (default true): once a producer writes faster than
   * about one record per 0.2 ms, a reader whose ring empties pauses 1 ms and takes what came as
   * one batch, so records arrive up to ~2 ms late and cost a fraction of the CPU. `false` wakes
   * the reader for every record as it comes, as libbpf's `ring_buffer__poll` does.
   */
  coalesce?: boolean;
}

/** Options of `read()`, `wait()` (and `waitForSpace()` of the user ring buffer writer). */
export interface RingBufWaitOptions {
  /** Give up after this many milliseconds (read() resolves undefined, wait() false). Default: wait until close(). */
  timeoutMs?: number;
  /** Abort the wait: the promise rejects with `signal.reason` (an `AbortError` unless the caller gave one). */
  signal?: AbortSignal;
}

/** Options of `records()`. */
export interface RecordsOptions {
  /** Abort the iteration: the loop throws `signal.reason`, and the record it held is handed back. */
  signal?: AbortSignal;
}

/**
 * One record during a `poll()` callback: `view`/`offset`/`length` locate the payload in the
 * mapped ring. The same object is reused for every record, and the memory it points at belongs
 * to the producer again once the callback returns: copy (`copy()`) what must outlive it.
 */
export class RingBufRecord {
  /** A DataView over the whole (doubly mapped) data area; the payload starts at `offset`. */
  readonly view: DataView;
  /** Byte offset of the payload in `view` (8-byte aligned). */
  offset = 0;
  /** Payload length in bytes. */
  length = 0;

  /** @internal */
  constructor(view: DataView) {
    this.view = view;
  }

  /** The payload as a Uint8Array over the ring's memory (no copy; valid until the callback returns). */
  get bytes(): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + this.offset, this.length);
  }

  /** A copy of the payload that the caller owns. */
  copy(): Uint8Array {
    return this.bytes.slice();
  }
}

/** What `poll()` calls per record; returning `false` stops the drain after this record. */
export type RingBufCallback = (record: RingBufRecord) => void | boolean;

/**
 * Whether plain typed-array loads and stores already have the ordering the ring needs: on
 * x86_64 every load is an acquire and every store a release (TSO), and V8 keeps typed-array
 * accesses in program order, so the hot loop reads headers and publishes the consumer
 * position with plain accesses there. Atomics.load/store cost ~6 ns each per record on V8 (not
 * inlined for non-shared buffers; the store is an xchg), measured by benchmarks/suites/ringbuf.ts.
 * Other architectures (arm64) use Atomics, which give the acquire/release pairing.
 */
export const PLAIN_ORDERED = process.arch === "x64" || process.arch === "ia32";

// Module-local copies of the layout constants for the hot loop: in a CommonJS build, imported
// bindings become getter calls on the other module's exports object (measured ~7x slower
// drain, ~70 ns per record), local consts are inlined.
const L_PAGE = PAGE_SIZE;
const L_BUSY = BUSY_BIT;
const L_DISCARD = DISCARD_BIT;
const L_HEADER = HEADER_SIZE;
const L_LENGTH = LENGTH_MASK;
const L_TWO_32 = TWO_32;

/** Most records one poll() reads (its `limit` is capped to this int). */
const MAX_BATCH = 0x7fffffff;


/**
 * Reads a `BPF_MAP_TYPE_RINGBUF` map (min kernel 5.8): `poll(cb)` drains synchronously,
 * `read()` waits (epoll, never blocking the event loop) and returns a copy of the next record,
 * and `for await (const bytes of reader)` yields zero-copy views.
 *
 * The reader maps the consumer page read-write and the producer page plus the data area
 * (twice) read-only, and duplicates the map's fd: it owns its mappings and fd, the BpfMap keeps
 * its own. close() (or `using`) unmaps and closes; the map may be closed before or after.
 *
 * Memory ordering: the kernel pairs smp_store_release/smp_load_acquire on the positions and
 * headers. The reader reads the producer position with Atomics.load (two u32 halves, re-read
 * on a carry), then each header before its payload, and publishes the consumer position after
 * the callback has read the payload. On x86_64 plain typed-array loads and stores already are
 * acquire/release (TSO) and V8 keeps them in program order, so the per-record path uses them
 * (Atomics there costs ~12 ns per record); other architectures use Atomics.load/store
 * (PLAIN_ORDERED).
 *
 * Throws TypeError for a map of another type, ClosedError for a closed map or use after close,
 * SyscallError when mmap fails.
 */
export class RingBufReader implements Disposable, AsyncIterable<Uint8Array> {
  /** Size of the data area in bytes (the map's max_entries). */
  readonly size: number;
  readonly #what: string;
  readonly #fd: Fd;
  readonly #mask: number;
  #consumer: Mapping | undefined;
  #producer: Mapping | undefined;
  /** Consumer page as u32 words: [0] low and [1] high half of the consumer position. */
  readonly #cons: Uint32Array;
  /** Producer page and data area as u32 words: [0..1] producer position; headers from PAGE_SIZE / 4. */
  readonly #prod: Uint32Array;
  readonly #data: Uint8Array;
  readonly #record: RingBufRecord;
  readonly #ring: DrainState;
  readonly #watch: FdWatch;
  /** Counts what read() and wait() deliver, to let the event loop turn (see fair.ts). */
  readonly #pacer = new Pacer();
  /** Pauses instead of arming when records come fast (see fair.ts); counts what poll() delivers. */
  readonly #co: Coalescer;
  #closed = false;
  #iterating = false;

  constructor(map: ReaderMap, options: RingBufReaderOptions = {}) {
    checkMapType(map, MAP_TYPES.ringbuf, "ringbuf", "RingBufReader");
    this.#co = new Coalescer(checkCoalesceOption(options, "RingBufReaderOptions"));
    this.#what = `ring buffer reader of ${mapLabel(map)}`;
    const size = map.maxEntries;
    this.size = size;
    this.#mask = size - 1;
    this.#fd = dupMapFd(map, this.#what);
    try {
      const fd = this.#fd.value;
      this.#consumer = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      trackMapping(this.#consumer);
      this.#producer = mmap(PAGE_SIZE + 2 * size, PROT_READ, MAP_SHARED, fd, PAGE_SIZE);
      trackMapping(this.#producer);
      this.#cons = new Uint32Array(this.#consumer.buffer, 0, 2);
      this.#prod = new Uint32Array(this.#producer.buffer);
      this.#data = new Uint8Array(this.#producer.buffer, PAGE_SIZE, 2 * size);
      this.#record = new RingBufRecord(new DataView(this.#producer.buffer, PAGE_SIZE, 2 * size));
      this.#ring = new DrainState(this.#prod, this.#cons, size, this.#record, this.#what);
      this.#watch = new FdWatch([fd], UV_READABLE, this.#what, true);
    } catch (e) {
      this.#release();
      throw e;
    }
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #live(): void {
    if (this.#closed) throw new ClosedError(this.#what);
  }

  /** Whether records are pending, from the mapped positions (no syscall): what a wait checks after arming. */
  readonly #hasData = (): boolean => !this.#closed && loadPosition(this.#prod, 0) > this.#loadConsumer();

  /** Share of the ring in use (0 once closed): what a coalescing pause let gather. */
  #fill(): number {
    return this.#closed ? 0 : (loadPosition(this.#prod, 0) - this.#loadConsumer()) / this.size;
  }

  #loadConsumer(): number {
    return Atomics.load(this.#cons, 1) * TWO_32 + Atomics.load(this.#cons, 0);
  }

  #storeConsumer(pos: number, previous: number): void {
    publish(this.#cons, pos, previous);
  }

  /** Bytes submitted (or still being written) that this reader has not consumed yet. */
  get available(): number {
    this.#live();
    return loadPosition(this.#prod, 0) - this.#loadConsumer();
  }

  /**
   * Drain the records that are ready, calling `callback` with each one in order (discarded
   * records are skipped; a record still BUSY ends the drain, as later ones must wait for it).
   * Returns the number of records given to the callback. The record's memory is valid only
   * until the callback returns. At most `limit` records are read. If the callback throws, the
   * record counts as consumed and the error propagates; returning `false` stops after it.
   * Throws ClosedError after close, TsbpfError if the ring holds a record longer than the ring.
   */
  poll(callback: RingBufCallback, limit = Infinity): number {
    this.#live();
    if (typeof callback !== "function") throw new TypeError(`${this.#what}: poll() needs a callback function`);
    if (!(limit >= 0)) throw new RangeError(`${this.#what}: poll() limit must be a non-negative number`);
    const n = drain(this.#ring, callback, limit >= MAX_BATCH ? MAX_BATCH : Math.floor(limit));
    this.#co.batch += n;
    return n;
  }

  /**
   * Offset (in the data area) of the next ready record's payload, EMPTY or HEAD_BUSY; discarded
   * records at the head are consumed on the way. The record itself stays unconsumed: the
   * caller publishes `next` when done with it.
   */
  #peek(): { offset: number; length: number; next: number; cons: number } | number {
    const words = this.#prod;
    let cons = this.#loadConsumer();
    for (;;) {
      const prod = loadPosition(words, 0);
      if (cons >= prod) return EMPTY;
      const off = cons & this.#mask;
      const header = Atomics.load(words, (PAGE_SIZE + off) >>> 2);
      if (header & BUSY_BIT) return HEAD_BUSY;
      const length = header & LENGTH_MASK;
      if (length > this.size - HEADER_SIZE) throw new TsbpfError(`${this.#what}: record at position ${cons} claims ${length} bytes in a ${this.size}-byte ring (corrupt ring?)`);
      const next = cons + ((length + HEADER_SIZE + 7) & ~7);
      if ((header & DISCARD_BIT) === 0) return { offset: off + HEADER_SIZE, length, next, cons };
      this.#storeConsumer(next, cons);
      cons = next;
    }
  }

  /**
   * Wait until a record is ready to read (true) or the timeout passes or the reader is closed
   * (false); rejects with `signal.reason` when `signal` aborts. Resolves at once when records
   * are already there, except that it lets one turn of the event loop run first every 2 ms of
   * records (see fair.ts), so a `wait()` + `poll()` loop never starves timers and I/O. Sleeps on
   * the event loop's epoll, which the kernel signals only for submits that ask for a wakeup
   * (the default flags do when the reader has caught up; BPF_RB_NO_WAKEUP never does).
   */
  async wait(options: RingBufWaitOptions = {}): Promise<boolean> {
    this.#live();
    const { timeoutMs, signal } = checkWaitOptions(options, this.#what);
    signal?.throwIfAborted();
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    if (this.#pacer.dueAfter(1)) await this.#pacer.yield(signal);
    for (;;) {
      if (this.#closed) return false;
      const head = this.#peek();
      if (typeof head === "object") return true;
      if (head === HEAD_BUSY) {
        // The producer is between reserve and submit (nanoseconds to microseconds): the fd is
        // readable already, so let the loop turn and look again instead of sleeping.
        if (Date.now() >= deadline) return false;
        await nextTurn();
        signal?.throwIfAborted();
        continue;
      }
      if (this.#co.pauseNow()) {
        // Records come fast: let them gather instead of waking per record (see fair.ts).
        const left = deadline - Date.now();
        if (left <= 0) return false;
        if ((await this.#watch.pause(Math.min(COALESCE_MS, left), signal)) === "closed") return false;
        this.#co.paused(this.#fill());
        this.#pacer.reset();
        continue;
      }
      const sleeps = this.#watch.sleeps;
      this.#co.waitStart();
      const end = await this.#watch.wait({ ready: this.#hasData, deadline, signal });
      const slept = this.#watch.sleeps !== sleeps;
      this.#co.waitEnd(slept);
      if (slept) this.#pacer.reset(); // the loop turned (see PacedIterator)
      if (end !== "ready") return false;
    }
  }

  /**
   * The next record as a copy the caller owns, waiting for one when the ring is empty.
   * Resolves undefined on timeout or when the reader is closed while waiting; rejects with
   * `signal.reason` when `signal` aborts. Lets the event loop turn every 2 ms of records.
   */
  async read(options: RingBufWaitOptions = {}): Promise<Uint8Array | undefined> {
    if (!(await this.wait(options)) || this.#closed) return undefined;
    let out: Uint8Array | undefined;
    this.poll((r) => {
      out = r.copy();
      return false;
    }, 1);
    return out;
  }

  /**
   * Records as zero-copy Uint8Array views, in order, waiting (on the event loop) when the ring
   * is empty: `for await (const bytes of reader.records({ signal }))`. A yielded view is valid
   * until the loop asks for the next record (the reader then hands its space back to
   * producers): copy it (`bytes.slice()`) to keep it. The loop ends when the reader is closed,
   * throws `signal.reason` when `signal` aborts, and lets the event loop turn every 2 ms or
   * 16384 records (fair.ts). Records are taken from the ring in place with no syscall and no
   * copy while any are ready. One iteration at a time per reader.
   */
  records(options: RecordsOptions = {}): AsyncIterableIterator<Uint8Array> {
    this.#live();
    const signal = checkRecordsOptions(options, this.#what);
    if (this.#iterating) throw new TypeError(`${this.#what}: already being iterated`);
    this.#iterating = true;
    return new RingBufIterator(this.#ring, this.#data, signal, {
      closed: () => this.#closed,
      wait: (sig) => this.#watch.wait({ ready: this.#hasData, deadline: Infinity, signal: sig }),
      sleeps: () => this.#watch.sleeps,
      pause: this.#co.enabled ? (ms, sig) => this.#watch.pause(ms, sig) : undefined,
      fill: () => this.#fill(),
      done: () => {
        this.#iterating = false;
      },
    });
  }

  /** `for await (const bytes of reader)`: the same as `records()` without a signal. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.records();
  }

  /**
   * Release the ring's memory and close the reader's fds; a wait in flight resolves
   * (false/undefined, or the iteration ends). Views handed out earlier read zeros afterwards
   * (never freed memory). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    this.#watch?.close();
    if (this.#producer) retireMapping(this.#producer);
    if (this.#consumer) retireMapping(this.#consumer);
    this.#producer = undefined;
    this.#consumer = undefined;
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * What the drain loop needs, in one object of a fixed shape: drain() is a plain function over
 * it (no private fields, no `this`), which V8 optimizes once and keeps optimized. Written as a
 * method with private-field reads, the loop was deoptimized on some call patterns and then ran
 * ~7x slower (~70 ns per record).
 */
class DrainState {
  readonly mask: number;
  readonly maxLength: number;
  constructor(
    readonly words: Uint32Array,
    readonly consWords: Uint32Array,
    readonly size: number,
    readonly record: RingBufRecord,
    readonly what: string,
  ) {
    this.mask = size - 1;
    this.maxLength = size - HEADER_SIZE;
  }
}

/**
 * The drain loop of RingBufReader.poll(): records from the consumer position on, at most `max`,
 * and at most one lap of the ring (`size` bytes): a producer as fast as the callback would
 * otherwise keep one call going for as long as it produces (a 57 ms event-loop stall seen in
 * the fairness test), where libbpf's ring_buffer__consume chases it too.
 */
function drain(ring: DrainState, callback: RingBufCallback, max: number): number {
  const words = ring.words;
  const consWords = ring.consWords;
  const mask = ring.mask;
  const maxLength = ring.maxLength;
  const rec = ring.record;
  const start = (PLAIN_ORDERED ? consWords[1] : Atomics.load(consWords, 1)) * L_TWO_32 + (PLAIN_ORDERED ? consWords[0] : Atomics.load(consWords, 0));
  // The position as a double (exact below 2^53) for comparisons with the producer, and its
  // low 32 bits and ring offset as ints, advanced together: no double→int conversion per record.
  let cons = start;
  let lo = start >>> 0;
  let off = start & mask;
  let prod = loadPosition(words, 0);
  const lapEnd = start + ring.size;
  let n = 0;
  // The hot loop: no allocation, no try per record, one header load and one u32 store per
  // record. The consumer position is published after every record, so producers get space
  // back during a long drain; `finally` publishes it when a callback throws.
  try {
    while (n < max && cons < lapEnd) {
      if (cons >= prod) {
        // Caught up: look once more for records submitted during the drain.
        prod = loadPosition(words, 0);
        if (cons >= prod) break;
      }
      const index = (L_PAGE + off) >>> 2;
      const header = PLAIN_ORDERED ? words[index] : Atomics.load(words, index);
      if (header & L_BUSY) break;
      const length = header & L_LENGTH;
      if (length > maxLength) throw corruptRecord(ring, cons, length);
      const span = (length + L_HEADER + 7) & ~7;
      const payload = off + L_HEADER;
      cons += span;
      off = (off + span) & mask;
      lo = (lo + span) >>> 0;
      if ((header & L_DISCARD) === 0) {
        rec.offset = payload;
        rec.length = length;
        n++;
        if (callback(rec) === false) break;
      }
      if (PLAIN_ORDERED) consWords[0] = lo;
      else Atomics.store(consWords, 0, lo);
      if (lo < span) publish(consWords, cons, cons - span); // the low half wrapped: high half too
    }
  } finally {
    if (cons !== start) publish(consWords, cons, start);
  }
  return n;
}

function corruptRecord(ring: DrainState, pos: number, length: number): TsbpfError {
  return new TsbpfError(`${ring.what}: record at position ${pos} claims ${length} bytes in a ${ring.size}-byte ring (corrupt ring?)`);
}

/**
 * Publish a consumer position in the consumer page's two u32 halves: low, then high only when
 * it changed (once per 4 GiB consumed). A kernel reading between the two sees a position 2^32
 * too small, i.e. less free space, never more. Plain stores where PLAIN_ORDERED (the payload
 * reads done in the callback stay before the store), Atomics.store elsewhere.
 */
export const publish: (words: Uint32Array, pos: number, previous: number) => void =
  PLAIN_ORDERED
    ? (words, pos, previous) => {
        const lo = pos >>> 0;
        words[0] = lo;
        if (lo < (previous >>> 0)) words[1] = Math.floor(pos / L_TWO_32);
      }
    : (words, pos, previous) => {
        const lo = pos >>> 0;
        Atomics.store(words, 0, lo);
        if (lo < (previous >>> 0)) Atomics.store(words, 1, Math.floor(pos / L_TWO_32));
      };

/** Validate RingBufWaitOptions. */
export function checkWaitOptions(options: RingBufWaitOptions, what: string): { timeoutMs?: number; signal?: AbortSignal } {
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: wait options must be an object`);
  for (const k of Object.keys(options)) if (k !== "timeoutMs" && k !== "signal") throw new TypeError(`${what}: unknown wait option "${k}" (known: timeoutMs, signal)`);
  const t = options.timeoutMs;
  if (t !== undefined && !(typeof t === "number" && t >= 0)) throw new RangeError(`${what}: timeoutMs must be a non-negative number`);
  return { timeoutMs: t, signal: checkSignal(options.signal, what) };
}

/** Validate RecordsOptions; returns the signal. */
export function checkRecordsOptions(options: RecordsOptions, what: string): AbortSignal | undefined {
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: records() options must be an object`);
  for (const k of Object.keys(options)) if (k !== "signal") throw new TypeError(`${what}: unknown records() option "${k}" (known: signal)`);
  return checkSignal(options.signal, what);
}

function checkSignal(signal: unknown, what: string): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${what}: signal must be an AbortSignal`);
  return signal;
}

/** Reject every key of a reader's options object: readers have no options left to tune. */
/** Check a reader's options whose only key is `coalesce` (a boolean, default true); returns it. */
export function checkCoalesceOption(options: unknown, name: string): boolean {
  if (typeof options !== "object" || options === null) throw new TypeError(`${name} must be an object`);
  const { coalesce, ...rest } = options as { coalesce?: unknown };
  checkNoOptions(rest, name);
  if (coalesce !== undefined && typeof coalesce !== "boolean") throw new TypeError(`${name}: coalesce must be a boolean`);
  return coalesce !== false;
}

export function checkNoOptions(options: unknown, name: string): void {
  if (typeof options !== "object" || options === null) throw new TypeError(`${name} must be an object`);
  for (const k of Object.keys(options)) {
    const hint = k === "wait" ? ": readers always wait on the event loop's own epoll now (no strategy to choose)" : "";
    throw new TypeError(`${name}: unknown option "${k}"${hint}`);
  }
}

/**
 * The iterator of RingBufReader.records() (the protocol and pacing are PacedIterator's): takes
 * each record in place and hands its space back when the next one is asked for.
 */
class RingBufIterator extends PacedIterator<Uint8Array> {
  readonly #ring: DrainState;
  readonly #buffer: ArrayBufferLike;
  readonly #base: number;
  /** Position after the record handed out last, published on the next call; -1: none held. */
  #held = -1;
  #heldFrom = 0;
  #prod = 0;

  constructor(ring: DrainState, data: Uint8Array, signal: AbortSignal | undefined, host: IteratorHost) {
    super(signal, host);
    this.#ring = ring;
    this.#buffer = data.buffer;
    this.#base = data.byteOffset;
  }

  protected handBack(): void {
    if (this.#held >= 0) publish(this.#ring.consWords, this.#held, this.#heldFrom);
    this.#held = -1;
  }

  /** Publish the record held, then the next ready record in place, or EMPTY / HEAD_BUSY. */
  protected take(): Uint8Array | number {
    const ring = this.#ring;
    const consWords = ring.consWords;
    if (this.#held >= 0) {
      publish(consWords, this.#held, this.#heldFrom);
      this.#held = -1;
    }
    const words = ring.words;
    const mask = ring.mask;
    let cons = (PLAIN_ORDERED ? consWords[1] : Atomics.load(consWords, 1)) * L_TWO_32 + (PLAIN_ORDERED ? consWords[0] : Atomics.load(consWords, 0));
    for (;;) {
      if (cons >= this.#prod) {
        this.#prod = loadPosition(words, 0);
        if (cons >= this.#prod) return EMPTY;
      }
      const off = cons & mask;
      const index = (L_PAGE + off) >>> 2;
      const header = PLAIN_ORDERED ? words[index] : Atomics.load(words, index);
      if (header & L_BUSY) return HEAD_BUSY;
      const length = header & L_LENGTH;
      if (length > ring.maxLength) throw corruptRecord(ring, cons, length);
      const next = cons + ((length + L_HEADER + 7) & ~7);
      if ((header & L_DISCARD) === 0) {
        this.#held = next;
        this.#heldFrom = cons;
        return new Uint8Array(this.#buffer, this.#base + off + L_HEADER, length);
      }
      publish(consWords, next, cons);
      cons = next;
    }
  }
}
