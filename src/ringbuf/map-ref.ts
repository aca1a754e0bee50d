/**
 * Checks that a map given to a reader or writer is of the right type, and takes its own
 * duplicate of the map's fd so the reader lives on if the BpfMap is closed first.
 */
import { TsbpfError } from "../errors.js";
import { Fd } from "../sys/fd.js";
import { mapTypeName } from "../spec/map-type.js";

/** What readers need from a map: a BpfMap satisfies it. */
export interface ReaderMap {
  readonly fd: number;
  readonly type: number;
  readonly maxEntries: number;
  readonly name: string;
}

/** `map "name"` (or the type name when unnamed), for messages. */
export function mapLabel(map: ReaderMap): string {
  return `map "${map.name || mapTypeName(map.type) || map.type}"`;
}

/**
 * Throw a TypeError unless `map` is a live map of UAPI type `type` (`typeName` its bpftool
 * name), naming what was given and which reader fits it instead.
 */
export function checkMapType(map: unknown, type: number, typeName: string, reader: string): asserts map is ReaderMap {
  if (typeof map !== "object" || map === null || typeof (map as ReaderMap).type !== "number") {
    throw new TypeError(`${reader}: expected a BpfMap of type "${typeName}", got ${map === null ? "null" : typeof map}`);
  }
  const m = map as ReaderMap;
  if (m.type !== type) {
    const given = mapTypeName(m.type) ?? String(m.type);
    const hint = given === "ringbuf" ? " (use RingBufReader)" : given === "user_ringbuf" ? " (use UserRingBufWriter)" : given === "perf_event_array" ? " (use PerfReader)" : "";
    throw new TypeError(`${reader}: ${mapLabel(m)} is a "${given}" map, not "${typeName}"${hint}`);
  }
}

/** A duplicate of the map's fd, owned by the caller (close it). Throws ClosedError for a closed map. */
export function dupMapFd(map: ReaderMap, what: string): Fd {
  const borrowed = new Fd(map.fd, what); // map.fd throws ClosedError for a closed BpfMap
  try {
    return borrowed.dup();
  } catch (e) {
    throw e instanceof TsbpfError ? e : new TsbpfError(`${what}: duplicate the map fd`, { cause: e });
  } finally {
    borrowed.disown();
  }
}
