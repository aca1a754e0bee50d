/**
 * Codecs convert between JavaScript values and the bytes of a map key or value. They are pure
 * (no kernel): hand-written ones live here, ones derived from BTF in src/btf/.
 */

/** Converts between a JS value of type T and `size` bytes. */
export interface Codec<T> {
  /** Size in bytes of one encoded value. */
  readonly size: number;
  /**
   * Write `value` at `view[offset, offset + size)`. Throws TypeError or RangeError for a value
   * that does not fit (wrong type, out of range, wrong length), before writing anything.
   */
  encode(value: T, view: DataView, offset: number): void;
  /** Read one value from `view[offset, offset + size)`. */
  decode(view: DataView, offset: number): T;
}

/** The JS type a codec produces. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;
