/**
 * The reader tests' producers: bpf/readers/readers.o loaded as a collection, and helpers to run
 * its XDP programs by test run with their parameters in the packet (struct params).
 */
import { join } from "node:path";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { NativeMemory, syscall3 } from "../../src/sys/libc.js";

/** `BPF_RB_NO_WAKEUP` / `BPF_RB_FORCE_WAKEUP` flags of bpf_ringbuf_submit/output. */
export const RB_NO_WAKEUP = 1;
export const RB_FORCE_WAKEUP = 2;

/** Load a fresh copy of the producers (new maps each time). The caller closes it. */
export function loadProducers(): Collection {
  return Collection.load(CollectionSpec.fromFile(join(import.meta.dirname, "../../bpf/readers/readers.o")));
}

export interface Params {
  count: number;
  first?: number;
  /** Payload size for rb_output/perf_output (the program clamps it to 8..64). */
  size?: number;
  flags?: number;
  /** rb_reserve: discard records whose seq % discard == 0. */
  discard?: number;
}

/** Run program `name` once with `p` in the packet. */
export function produce(coll: Collection, name: "rb_output" | "rb_reserve" | "perf_output", p: Params): void {
  const data = new Uint8Array(64);
  const v = new DataView(data.buffer);
  [p.count, p.first ?? 0, p.size ?? 16, p.flags ?? 0, p.discard ?? 0].forEach((x, i) => v.setUint32(i * 4, x, true));
  const r = coll.programs[name].run({ data, dataOut: false });
  if (r.retval !== 2) throw new Error(`${name} returned ${r.retval} (XDP_ABORTED: bad params)`);
}

/** What a record of sequence `seq` holds: u32 seq, u32 size, then bytes (seq * 3 + i) & 0xff. */
export function expectedRecord(seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, seq, true);
  v.setUint32(4, size, true);
  for (let i = 8; i < size; i++) out[i] = (seq * 3 + (i - 8)) & 0xff;
  return out;
}

/** Records the program dropped because the ring was full (the `dropped` global). */
export function dropped(coll: Collection): number {
  return Number(coll.variables.dropped.value);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const SYS_SCHED_SETAFFINITY = 203;
const SYS_SCHED_GETAFFINITY = 204;

/**
 * Run `fn` with this thread pinned to `cpu`, so every test run inside lands on that CPU's perf
 * ring (a lost-samples record is written to the ring that lost them, when a later sample on the
 * same CPU fits). The previous affinity is restored afterwards.
 */
export async function onCpu<T>(cpu: number, fn: () => T | Promise<T>): Promise<T> {
  const saved = new NativeMemory(128);
  if (syscall3(SYS_SCHED_GETAFFINITY, 0, 128, saved.address) < 0) throw new Error("sched_getaffinity failed");
  const mask = new NativeMemory(128);
  mask.bytes[cpu >> 3] = 1 << (cpu & 7);
  if (syscall3(SYS_SCHED_SETAFFINITY, 0, 128, mask.address) < 0) throw new Error(`sched_setaffinity to CPU ${cpu} failed`);
  try {
    return await fn();
  } finally {
    syscall3(SYS_SCHED_SETAFFINITY, 0, 128, saved.address);
  }
}
