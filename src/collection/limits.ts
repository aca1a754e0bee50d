/**
 * Limits on what an object may make the kernel allocate. An object's map definitions are
 * claims: an 8 KB file can declare a 2 GiB `.bss` or a hash map of 2^32 entries, and the kernel
 * would allocate (and zero) all of it. `Collection.load` estimates each map's memory from its
 * spec before any syscall and refuses one above `maxMapBytes` (see docs/security.md).
 */
import type { MapSpec } from "../spec/map-spec.js";
import { TsbpfError } from "../errors.js";
import { mapTypeName, PER_CPU_MAP_TYPES } from "../spec/map-type.js";
import { possibleCpus } from "../map/possible-cpus.js";

/** Default of `CollectionLoadOptions.maxMapBytes`: 256 MiB per map. */
export const DEFAULT_MAX_MAP_BYTES = 256 * 1024 * 1024;

/**
 * About how many bytes of kernel memory a map made from `m` takes, from its declared sizes:
 * `max_entries` bytes for ring buffers, pages for an arena, entries × (key + value) for the rest,
 * times the possible CPUs for per-CPU maps. A bound to refuse bombs with, not an exact figure.
 */
export function declaredMapBytes(m: Pick<MapSpec, "type" | "keySize" | "valueSize" | "maxEntries">): number {
  const name = typeof m.type === "string" ? m.type : mapTypeName(m.type);
  const entries = m.maxEntries ?? 0;
  if (name === "ringbuf" || name === "user_ringbuf") return entries;
  if (name === "arena") return entries * 4096;
  const perEntry = (m.keySize ?? 0) + Math.ceil((m.valueSize ?? 0) / 8) * 8;
  const cpus = name !== undefined && PER_CPU_MAP_TYPES.has(name) ? possibleCpus() : 1;
  return entries * perEntry * cpus;
}

/** Throw TsbpfError, naming the map and the option, for a map to create above `limit` bytes. */
export function checkMapLimit(key: string, m: MapSpec, limit: number): void {
  const bytes = declaredMapBytes(m);
  if (bytes <= limit) return;
  const mib = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 3 : 0)} MiB`;
  throw new TsbpfError(
    `map "${key}": the object declares ${mib(bytes)} (max_entries ${m.maxEntries ?? 0}, key ${m.keySize ?? 0} B, value ${m.valueSize ?? 0} B), ` +
      `more than maxMapBytes (${mib(limit)}); nothing was created. If the object is meant to be this large, pass a larger maxMapBytes to Collection.load`,
  );
}
