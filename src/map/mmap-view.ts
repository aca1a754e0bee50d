/**
 * A zero-copy view of a BPF_F_MMAPABLE array: its elements live in shared memory that BPF
 * programs and this process both read and write, with no syscall per access.
 */
import type { Codec } from "../codec.js";
import { checkOptions, ClosedError } from "../errors.js";
import { cancelUnmapWhenGarbage, MAP_SHARED, mmap, munmap, PROT_READ, PROT_WRITE, unmapWhenGarbage, type Mapping } from "../sys/libc.js";

/** Options of BpfMap.mmap. */
export interface MmapOptions {
  /** Map read-only (needed for frozen maps and maps created with BPF_F_RDONLY). Default false. */
  readonly?: boolean;
}

const PAGE_SIZE = 4096;

/**
 * Elements of an mmapped array map. `bytes` and `view` cover the whole region; element `i`
 * starts at `i * stride` (value size rounded up to 8). Reads see programs' writes at once.
 * close() unmaps: `bytes`/`view` and typed arrays over `buffer` must not be used after it.
 */
export class MmapArrayView<T> implements Disposable {
  /** Number of elements (the map's max_entries). */
  readonly length: number;
  /** Bytes from one element's start to the next. */
  readonly stride: number;
  readonly readonly: boolean;
  readonly #codec: Codec<T>;
  readonly #what: string;
  #mapping: Mapping | undefined;
  #bytes: Uint8Array;
  #view: DataView;

  /** @internal Use BpfMap.mmap(). */
  constructor(fd: number, codec: Codec<T>, length: number, stride: number, options: MmapOptions, what: string) {
    if (typeof options !== "object" || options === null) throw new TypeError("MmapOptions must be an object");
    checkOptions("MmapOptions", options, ["readonly"]);
    this.length = length;
    this.stride = stride;
    this.readonly = options.readonly ?? false;
    this.#codec = codec;
    this.#what = `mmap of ${what}`;
    const size = Math.max(PAGE_SIZE, Math.ceil((length * stride) / PAGE_SIZE) * PAGE_SIZE);
    const mapping = mmap(size, this.readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    this.#mapping = mapping;
    unmapWhenGarbage(mapping, this);
    this.#bytes = new Uint8Array(mapping.buffer, 0, length * stride);
    this.#view = new DataView(mapping.buffer, 0, length * stride);
  }

  #check(i: number): void {
    if (!this.#mapping) throw new ClosedError(this.#what);
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`${this.#what}: index ${i} is outside 0..${this.length - 1}`);
  }

  /** The whole region's bytes (length × stride), shared with the kernel. */
  get bytes(): Uint8Array {
    if (!this.#mapping) throw new ClosedError(this.#what);
    return this.#bytes;
  }

  /** A DataView over the whole region, shared with the kernel. */
  get view(): DataView {
    if (!this.#mapping) throw new ClosedError(this.#what);
    return this.#view;
  }

  /**
   * The region as a typed array with one element per map entry, e.g. `BigUint64Array` or
   * `Float64Array` for 8-byte values. Entries are `stride` (value size rounded up to 8) bytes
   * apart, so the typed array's element size must equal the stride. Zero-copy; invalid after
   * close(). Throws TypeError when the sizes differ, ClosedError after close.
   */
  typedArray<A extends ArrayBufferView>(ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): A; readonly BYTES_PER_ELEMENT: number }): A {
    if (!this.#mapping) throw new ClosedError(this.#what);
    if (ctor.BYTES_PER_ELEMENT !== this.stride) {
      throw new TypeError(`${this.#what}: elements are ${this.stride} bytes apart, a typed array of ${ctor.BYTES_PER_ELEMENT}-byte elements would not line up`);
    }
    return new ctor(this.#bytes.buffer, this.#bytes.byteOffset, this.length);
  }

  /** Element `i`, decoded by the codec. Throws RangeError out of range, ClosedError after close. */
  get(i: number): T {
    this.#check(i);
    return this.#codec.decode(this.#view, i * this.stride);
  }

  /** Write element `i` in place. Throws TypeError for a read-only view. */
  set(i: number, value: T): void {
    this.#check(i);
    if (this.readonly) throw new TypeError(`${this.#what} is read-only`);
    this.#codec.encode(value, this.#view, i * this.stride);
  }

  /** Unmap the region. Idempotent. */
  close(): void {
    const m = this.#mapping;
    if (!m) return;
    this.#mapping = undefined;
    cancelUnmapWhenGarbage(this);
    munmap(m);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
