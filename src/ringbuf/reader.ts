/**
 * RingBufReader: the userspace consumer of a BPF ring buffer (`BPF_MAP_TYPE_RINGBUF`). Records
 * are read in place in the mmapped data area; nothing is copied unless the caller copies.
 */
import { ClosedError, TsbpfError } from "../errors.js";
import { EpollSet, type WaitStrategy } from "../sys/epoll.js";
import type { Fd } from "../sys/fd.js";
import { MAP_SHARED, mmap, PROT_READ, PROT_WRITE, type Mapping } from "../sys/libc.js";
import { MAP_TYPES } from "../map/map-type.js";
import { BUSY_BIT, DISCARD_BIT, HEADER_SIZE, LENGTH_MASK, loadPosition, PAGE_SIZE, TWO_32 } from "./layout.js";
import { retireMapping } from "./retire.js";
import { checkMapType, dupMapFd, mapLabel, type ReaderMap } from "./map-ref.js";

/** Options of `new RingBufReader(map, options)`. */
export interface RingBufReaderOptions {
  /**
   * How async reads wait for data: `"thread"` (default) blocks in epoll_wait on a libuv pool
   * thread, `"poll"` polls with a zero timeout from timers. See src/sys/epoll.ts for the costs.
   */
  wait?: WaitStrategy;
}

/** Options of `read()` and `wait()`. */
export interface RingBufWaitOptions {
  /** Give up after this many milliseconds (read() resolves undefined, wait() false). Default: wait until close(). */
  timeoutMs?: number;
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

/** Result of looking at the head of the ring without consuming it. */
const EMPTY = -1;
const HEAD_BUSY = -2;

/**
 * Reads a `BPF_MAP_TYPE_RINGBUF` map (min kernel 5.8): `poll(cb)` drains synchronously,
 * `read()` waits (epoll, never blocking the event loop) and returns a copy of the next record,
 * and `for await (const bytes of reader)` yields zero-copy views.
 *
 * The reader maps the consumer page read-write and the producer page plus the data area
 * (twice) read-only, and duplicates the map's fd: it owns its mappings and fd, the BpfMap keeps
 * its own. close() (or `using`) unmaps and closes; the map may be closed before or after.
 *
 * Memory ordering: positions and headers are read with Atomics.load and the consumer position
 * is written with Atomics.store. On x86_64 these are plain loads and a locked store, which gives
 * the kernel's acquire/release pairing (smp_load_acquire of the producer position and the
 * header before the payload; smp_store_release of the consumer position after it); Atomics
 * also keeps the JIT from reordering the payload reads (done inside the callback, before the
 * store) past the store that hands the space back to producers.
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
  readonly #epoll: EpollSet;
  #closed = false;
  #iterating = false;

  constructor(map: ReaderMap, options: RingBufReaderOptions = {}) {
    checkMapType(map, MAP_TYPES.ringbuf, "ringbuf", "RingBufReader");
    if (typeof options !== "object" || options === null) throw new TypeError("RingBufReaderOptions must be an object");
    for (const k of Object.keys(options)) if (k !== "wait") throw new TypeError(`RingBufReaderOptions: unknown option "${k}"`);
    this.#what = `ring buffer reader of ${mapLabel(map)}`;
    const size = map.maxEntries;
    this.size = size;
    this.#mask = size - 1;
    this.#fd = dupMapFd(map, this.#what);
    try {
      const fd = this.#fd.value;
      this.#consumer = mmap(PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      this.#producer = mmap(PAGE_SIZE + 2 * size, PROT_READ, MAP_SHARED, fd, PAGE_SIZE);
      this.#cons = new Uint32Array(this.#consumer.buffer, 0, 2);
      this.#prod = new Uint32Array(this.#producer.buffer);
      this.#data = new Uint8Array(this.#producer.buffer, PAGE_SIZE, 2 * size);
      this.#record = new RingBufRecord(new DataView(this.#producer.buffer, PAGE_SIZE, 2 * size));
      this.#epoll = new EpollSet(this.#what, 1, options.wait ?? "thread");
      this.#epoll.add(fd, 0);
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

  /** Whether records are pending, from the mapped positions (no syscall): the "poll" strategy's check. */
  readonly #hasData = (): boolean => !this.#closed && loadPosition(this.#prod, 0) > this.#loadConsumer();

  #loadConsumer(): number {
    return Atomics.load(this.#cons, 1) * TWO_32 + Atomics.load(this.#cons, 0);
  }

  /** Publish the consumer position: low half, then high half only when it changed (see storeConsumer). */
  #storeConsumer(pos: number, previous: number): void {
    const lo = pos >>> 0;
    // Low before high: a kernel reading between the two sees a position 2^32 too small, i.e.
    // less free space, never more. The high half changes once per 4 GiB consumed.
    Atomics.store(this.#cons, 0, lo);
    if (lo < (previous >>> 0)) Atomics.store(this.#cons, 1, Math.floor(pos / TWO_32));
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
    const words = this.#prod;
    const mask = this.#mask;
    const rec = this.#record;
    let cons = this.#loadConsumer();
    let prod = loadPosition(words, 0);
    let n = 0;
    while (n < limit) {
      if (cons >= prod) {
        // Caught up: look once more for records submitted during the drain.
        prod = loadPosition(words, 0);
        if (cons >= prod) break;
      }
      const off = cons & mask;
      const header = Atomics.load(words, (PAGE_SIZE + off) >>> 2);
      if (header & BUSY_BIT) break;
      const length = header & LENGTH_MASK;
      if (length > this.size - HEADER_SIZE) throw new TsbpfError(`${this.#what}: record at position ${cons} claims ${length} bytes in a ${this.size}-byte ring (corrupt ring?)`);
      const next = cons + ((length + HEADER_SIZE + 7) & ~7);
      if ((header & DISCARD_BIT) === 0) {
        rec.offset = off + HEADER_SIZE;
        rec.length = length;
        n++;
        let more: void | boolean;
        try {
          more = callback(rec);
        } finally {
          this.#storeConsumer(next, cons);
        }
        cons = next;
        if (more === false) break;
      } else {
        this.#storeConsumer(next, cons);
        cons = next;
      }
    }
    return n;
  }

  /**
   * Offset (in the data area) of the next ready record's payload, EMPTY or HEAD_BUSY; discarded
   * records at the head are consumed on the way. The record stays unconsumed until #commit().
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
   * (false). Resolves at once when records are already there; otherwise waits on epoll, which
   * the kernel signals only for submits that ask for a wakeup (the default flags do when the
   * reader has caught up; BPF_RB_NO_WAKEUP never does). Never blocks the event loop.
   */
  async wait(options: RingBufWaitOptions = {}): Promise<boolean> {
    this.#live();
    const timeoutMs = checkWaitOptions(options, this.#what);
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) return false;
      const head = this.#peek();
      if (typeof head === "object") return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (head === HEAD_BUSY) {
        // The producer is between reserve and submit: epoll would report ready at once (data
        // is pending), so sleep briefly instead of spinning.
        await new Promise((r) => setTimeout(r, Math.min(1, left)));
        continue;
      }
      await this.#epoll.wait(left, this.#hasData);
    }
  }

  /**
   * The next record as a copy the caller owns, waiting for one when the ring is empty.
   * Resolves undefined on timeout or when the reader is closed while waiting.
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
   * Records as zero-copy Uint8Array views, in order, waiting (epoll) when the ring is empty. A
   * yielded view is valid until the loop asks for the next record (the reader then hands its
   * space back to producers): copy it (`bytes.slice()`) to keep it. Ends when the reader is
   * closed. One iteration at a time per reader.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    this.#live();
    if (this.#iterating) throw new TypeError(`${this.#what}: already being iterated`);
    this.#iterating = true;
    try {
      for (;;) {
        if (this.#closed) return;
        const head = this.#peek();
        if (typeof head === "number") {
          if (!(await this.wait())) return;
          continue;
        }
        try {
          yield new Uint8Array(this.#data.buffer, this.#data.byteOffset + head.offset, head.length);
        } finally {
          if (!this.#closed) this.#storeConsumer(head.next, head.cons);
        }
      }
    } finally {
      this.#iterating = false;
    }
  }

  /**
   * Release the ring's memory and close the reader's fds; a wait in flight resolves (false/undefined, or ends iteration). Views handed out
   * earlier read zeros afterwards (never freed memory). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    this.#epoll?.close();
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

/** Validate RingBufWaitOptions; returns the timeout. */
export function checkWaitOptions(options: RingBufWaitOptions, what: string): number | undefined {
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: wait options must be an object`);
  for (const k of Object.keys(options)) if (k !== "timeoutMs") throw new TypeError(`${what}: unknown wait option "${k}"`);
  const t = options.timeoutMs;
  if (t !== undefined && !(typeof t === "number" && t >= 0)) throw new RangeError(`${what}: timeoutMs must be a non-negative number`);
  return t;
}
