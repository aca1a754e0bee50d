/**
 * The BPF ring buffer's memory layout (kernel/bpf/ringbuf.c, UAPI facts), shared by the reader
 * and the user ring buffer writer. Pure data: no kernel access.
 *
 * mmap of a ring buffer map fd:
 *   offset 0          one page: consumer position (u64 at 0)
 *   offset PAGE       one page: producer position (u64 at 0)
 *   offset 2 * PAGE   the data area, `size` bytes, mapped twice in a row so a record that wraps
 *                     past the end reads contiguously.
 * Every record starts 8-byte aligned with an 8-byte header: u32 length with the BUSY (bit 31)
 * and DISCARD (bit 30) flags, then u32 page offset (kernel use). Positions only grow; the
 * offset in the data area is `position & (size - 1)`.
 */

/** Page size of x86_64 and arm64 4K kernels; ring buffer sizes are page multiples. */
export const PAGE_SIZE = 4096;
/** `BPF_RINGBUF_BUSY_BIT`: the producer has reserved the record but not yet submitted it. */
export const BUSY_BIT = 0x80000000;
/** `BPF_RINGBUF_DISCARD_BIT`: the record was discarded; skip it. */
export const DISCARD_BIT = 0x40000000;
/** `BPF_RINGBUF_HDR_SZ`. */
export const HEADER_SIZE = 8;
/** Mask of the length bits of a header. */
export const LENGTH_MASK = 0x3fffffff;

/** Bytes a record of `length` payload bytes takes in the ring: header plus payload, rounded up to 8. */
export function recordSpan(length: number): number {
  return (length + HEADER_SIZE + 7) & ~7;
}

/** 2^32, to join and split 64-bit positions kept as JS numbers (exact below 2^53). */
export const TWO_32 = 4294967296;

/**
 * Read a u64 position that another CPU may be updating, as a number, from two u32 halves of
 * `words` at `index` (low) and `index + 1` (high): the high half is read before and after the
 * low one, so a carry between them is seen and the read repeated. Atomics.load orders these
 * reads before any later read of record memory (acquire, as the kernel's smp_load_acquire).
 */
export function loadPosition(words: Uint32Array, index: number): number {
  for (;;) {
    const hi = Atomics.load(words, index + 1);
    const lo = Atomics.load(words, index);
    if (Atomics.load(words, index + 1) === hi) return hi * TWO_32 + lo;
  }
}
