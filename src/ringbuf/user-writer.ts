/**
 * UserRingBufWriter: the userspace producer of a user ring buffer (`BPF_MAP_TYPE_USER_RINGBUF`),
 * whose records a BPF program consumes with `bpf_user_ringbuf_drain`. Records are written in
 * place in the mmapped ring.
 */
import { ClosedError } from "../errors.js";
import { FdWatch, UV_WRITABLE } from "../sys/fd-watch.js";
import type { Fd } from "../sys/fd.js";
import { MAP_SHARED, mmap, PROT_READ, PROT_WRITE, type Mapping } from "../sys/libc.js";
import { MAP_TYPES } from "../spec/map-type.js";
import { BUSY_BIT, DISCARD_BIT, HEADER_SIZE, LENGTH_MASK, loadPosition, PAGE_SIZE, recordSpan, TWO_32 } from "./layout.js";
import { checkMapType, dupMapFd, mapLabel, type ReaderMap } from "./map-ref.js";
import { retireMapping, trackMapping } from "./retire.js";
import { checkNoOptions, checkWaitOptions, type RingBufWaitOptions } from "./reader.js";
import { nextTurn } from "./fair.js";

/** Options of `new UserRingBufWriter(map, options)`: none yet (waiting needs no tuning, see RingBufReaderOptions). */
export type UserRingBufWriterOptions = Record<string, never>;

/**
 * A reserved record: write the payload into `bytes` (or through `view` at `offset`), then
 * `submit()` or `discard()` it exactly once. The memory is the ring's own: no copy.
 */
export class UserRingBufSample {
  /** The payload, `length` bytes of ring memory. */
  readonly bytes: Uint8Array;
  /** Payload length in bytes. */
  readonly length: number;
  readonly #writer: UserRingBufWriter;
  readonly #headerIndex: number;
  #done = false;

  /** @internal made by UserRingBufWriter.reserve() */
  constructor(writer: UserRingBufWriter, bytes: Uint8Array, headerIndex: number) {
    this.#writer = writer;
    this.bytes = bytes;
    this.length = bytes.length;
    this.#headerIndex = headerIndex;
  }

  /** A DataView over the payload. */
  get view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, this.length);
  }

  /** Hand the record to the consumer. Throws TypeError when already submitted or discarded, ClosedError after the writer closed. */
  submit(): void {
    this.#finish(0, "submit");
  }

  /** Mark the record discarded: the consumer skips it. Same errors as submit(). */
  discard(): void {
    this.#finish(DISCARD_BIT, "discard");
  }

  #finish(flag: number, step: string): void {
    if (this.#done) throw new TypeError(`user ring buffer record: ${step}: already submitted or discarded`);
    this.#done = true;
    this.#writer._commit(this.#headerIndex, this.length | flag);
  }
}

/**
 * Writes records to a `BPF_MAP_TYPE_USER_RINGBUF` map (min kernel 6.1) for a BPF program to
 * drain with `bpf_user_ringbuf_drain`. `reserve(n)` gives ring memory to fill in place, then
 * `submit()`; `write(bytes)` copies a payload in one step. A full ring makes them return
 * undefined/false; `waitForSpace(n)` waits (epoll, off the event loop) until the consumer frees
 * enough.
 *
 * The writer maps the consumer page read-only and the producer page plus the data area (twice)
 * read-write, and duplicates the map's fd; close() (or `using`) releases them. Use one writer
 * per map: the ring has no lock for userspace producers, so two writers would reserve the
 * same space.
 *
 * Ordering: the header (with BUSY) is stored before the producer position is advanced, and
 * submit() clears BUSY with Atomics.store after the payload is written, pairing with the
 * kernel's smp_load_acquire of both (see RingBufReader for why Atomics).
 *
 * Throws TypeError for a map of another type, ClosedError for a closed map or use after close,
 * SyscallError when mmap fails.
 */
export class UserRingBufWriter implements Disposable {
  /** Size of the data area in bytes (the map's max_entries). */
  readonly size: number;
  readonly #what: string;
  readonly #fd: Fd;
  readonly #mask: number;
  #consumer: Mapping | undefined;
  #producer: Mapping | undefined;
  readonly #cons: Uint32Array;
  readonly #prod: Uint32Array;
  readonly #watch: FdWatch;
  /** Producer position, kept here: this writer is the only producer. */
  #pos: number;
  #closed = false;

  constructor(map: ReaderMap, options: UserRingBufWriterOptions = {}) {
    checkMapType(map, MAP_TYPES.user_ringbuf, "user_ringbuf", "UserRingBufWriter");
    checkNoOptions(options, "UserRingBufWriterOptions");
    this.#what = `user ring buffer writer of ${mapLabel(map)}`;
    this.size = map.maxEntries;
    this.#mask = this.size - 1;
    this.#fd = dupMapFd(map, this.#what);
    try {
      const fd = this.#fd.value;
      // The kernel refuses a writable consumer page (EPERM): it alone moves the consumer.
      this.#consumer = mmap(PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      trackMapping(this.#consumer);
      this.#producer = mmap(PAGE_SIZE + 2 * this.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE_SIZE);
      trackMapping(this.#producer);
      this.#cons = new Uint32Array(this.#consumer.buffer, 0, 2);
      this.#prod = new Uint32Array(this.#producer.buffer);
      this.#pos = loadPosition(this.#prod, 0);
      this.#watch = new FdWatch([fd], UV_WRITABLE, this.#what, true);
    } catch (e) {
      this.#release();
      throw e;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  #live(): void {
    if (this.#closed) throw new ClosedError(this.#what);
  }

  #checkLength(length: number): number {
    if (!Number.isInteger(length) || length < 1 || length > LENGTH_MASK) {
      throw new RangeError(`${this.#what}: a record's length must be an integer from 1, got ${length}`);
    }
    const span = recordSpan(length);
    if (span > this.size) throw new RangeError(`${this.#what}: a ${length}-byte record (${span} bytes with its header) cannot fit a ${this.size}-byte ring`);
    return span;
  }

  /** Bytes free for new records now (the consumer may free more at any time). */
  get free(): number {
    this.#live();
    return this.size - (this.#pos - loadPosition(this.#cons, 0));
  }

  /**
   * Reserve a record of `length` payload bytes, or undefined when the ring has no room for it
   * now. Fill `sample.bytes`, then submit() or discard(); later records wait behind an
   * unsubmitted one. Throws RangeError for a length the ring can never hold, ClosedError after close.
   */
  reserve(length: number): UserRingBufSample | undefined {
    this.#live();
    const span = this.#checkLength(length);
    const pos = this.#pos;
    if (pos + span - loadPosition(this.#cons, 0) > this.size) return undefined;
    const off = pos & this.#mask;
    const headerIndex = (PAGE_SIZE + off) >>> 2;
    Atomics.store(this.#prod, headerIndex + 1, 0);
    Atomics.store(this.#prod, headerIndex, length | BUSY_BIT);
    const next = pos + span;
    // Publish: low half, then high half when it changed (a reader between them sees a smaller
    // position, i.e. fewer records, never a half-written one).
    Atomics.store(this.#prod, 0, next >>> 0);
    if ((next >>> 0) < (pos >>> 0)) Atomics.store(this.#prod, 1, Math.floor(next / TWO_32));
    this.#pos = next;
    const bytes = new Uint8Array(this.#producer!.buffer, PAGE_SIZE + off + HEADER_SIZE, length);
    return new UserRingBufSample(this, bytes, headerIndex);
  }

  /** @internal Store a record's final header (BUSY cleared). */
  _commit(headerIndex: number, header: number): void {
    this.#live();
    Atomics.store(this.#prod, headerIndex, header);
  }

  /**
   * Copy `payload` into a new record and submit it. Returns false when the ring has no room now.
   * Throws RangeError for an empty or too large payload, ClosedError after close.
   */
  write(payload: Uint8Array): boolean {
    if (!(payload instanceof Uint8Array)) throw new TypeError(`${this.#what}: write() takes a Uint8Array`);
    const s = this.reserve(payload.length);
    if (!s) return false;
    s.bytes.set(payload);
    s.submit();
    return true;
  }

  /**
   * Wait until a record of `length` bytes fits (true), or the timeout passes or the writer is
   * closed (false); rejects with `signal.reason` when `signal` aborts. The kernel signals space
   * after a program drains records; the wait sleeps on the event loop's own epoll and re-checks
   * the free space after arming. Never blocks the event loop.
   */
  async waitForSpace(length: number, options: RingBufWaitOptions = {}): Promise<boolean> {
    this.#live();
    const span = this.#checkLength(length);
    const { timeoutMs, signal } = checkWaitOptions(options, this.#what);
    signal?.throwIfAborted();
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const fits = (): boolean => !this.#closed && this.#pos + span - loadPosition(this.#cons, 0) <= this.size;
    for (;;) {
      if (this.#closed) return false;
      if (fits()) return true;
      // The fd is writable (level-triggered) while any space is free: when some is but not
      // enough for this record, look again after a short pause rather than on every loop turn.
      const someFree = this.#pos - loadPosition(this.#cons, 0) < this.size;
      if (someFree) {
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 1));
        signal?.throwIfAborted();
        continue;
      }
      const end = await this.#watch.wait({ ready: () => this.#closed || this.#pos - loadPosition(this.#cons, 0) < this.size, deadline, signal });
      if (end !== "ready") return end === "timeout" ? fits() : false;
      await nextTurn(); // the consumer may still be freeing more (a drain in progress)
    }
  }

  /** Release the ring's memory and close the writer's fds. Samples not yet submitted are lost. Idempotent. */
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
