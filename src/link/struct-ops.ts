/**
 * struct_ops: register a kernel "ops" struct (a TCP congestion control, sched_ext, …) whose
 * function members are BPF programs. The struct_ops map's value (`struct bpf_struct_ops_<type>`
 * in kernel BTF) is filled with program fds and data members; registering happens by the map
 * update itself (Linux 5.6) or, for maps created with BPF_F_LINK, by a bpf_link (6.4) that can
 * be updated to another map and pinned. The layout, the value and the map are
 * src/collection/struct-ops.ts's; this file only registers.
 */
import { NotSupportedError, TsbpfError } from "../errors.js";
import { BpfMap } from "../map/bpf-map.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate, linkUpdate } from "../sys/link-attr.js";
import { BpfLink, CallbackLink, programFd, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { MapFlags } from "../spec/map-spec.js";
import { encodeStructOpsValue, fillStructOpsMap, newStructOpsMap, structOpsLayout, unregisterStructOpsMap } from "../collection/struct-ops.js";


/** Options of `attachStructOps`. */
export interface StructOpsOptions {
  /** The kernel ops struct, e.g. `"tcp_congestion_ops"`. */
  type: string;
  /** Programs by function member name (loaded as struct_ops, see structOpsProgramTarget). */
  programs: Record<string, AttachProgram>;
  /** Data members by name: integers, or strings for char arrays (e.g. `{ name: "my_cc" }`). */
  data?: Record<string, number | bigint | string>;
  /** `"link"` (default, Linux 6.4): a bpf_link; `"update"`: the map update registers (5.6). */
  method?: "link" | "update";
  /** The struct_ops map's name. Default: the type's first 15 characters. */
  mapName?: string;
}

const KEYS = ["type", "programs", "data", "method", "mapName"] as const;

/** Options of `createStructOpsMap`. */
export interface StructOpsMapOptions {
  type: string;
  programs: Record<string, AttachProgram>;
  data?: Record<string, number | bigint | string>;
  /** Create it for a link (BPF_F_LINK): filled but not registered until attached. Default true. */
  link?: boolean;
  mapName?: string;
}

/**
 * Create a struct_ops map for ops struct `type` and fill its value with the programs and data.
 * With `link: false` the update registers it at once (close the map to keep nothing alive:
 * unregistering needs a delete, see attachStructOps). The caller owns the map. Throws TypeError,
 * TsbpfError, BpfError.
 */
export function createStructOpsMap(options: StructOpsMapOptions): BpfMap {
  checkOptions("createStructOpsMap", options, ["type", "programs", "data", "link", "mapName"]);
  const layout = structOpsLayout(options.type);
  const label = `struct_ops ${options.type}${typeof options.data?.name === "string" ? ` "${options.data.name}"` : ""}`;
  const fds: Record<string, number> = {};
  for (const [name, p] of Object.entries(options.programs ?? {})) {
    // Name the member before asking for the fd, so a typo is reported as such.
    if (!layout.members.get(name)?.isFunction) throw new TypeError(`${label}: no function member ${JSON.stringify(name)}`);
    fds[name] = programFd(p, `${label}: program ${name}`);
  }
  const value = encodeStructOpsValue(layout, fds, options.data ?? {}, label);
  const link = options.link ?? true;
  const map = newStructOpsMap({ name: options.mapName ?? options.type.slice(0, 15), valueTypeId: layout.valueTypeId, valueSize: layout.valueSize, flags: link ? MapFlags.LINK : 0 });
  try {
    fillStructOpsMap(map, value, `${label}: ${link ? "fill" : "register"}`);
    return map;
  } catch (e) {
    map.close();
    throw e;
  }
}

/** A registered struct_ops. `updateMap` swaps in another struct_ops map (link method only). */
export interface StructOpsLink extends Link {
  /**
   * Replace the registered struct_ops by another map from `createStructOpsMap` (link: true)
   * of the same type, atomically (BPF_LINK_UPDATE, Linux 6.4); the Link then owns that map.
   * Throws NotSupportedError for the update method, BpfError from the kernel.
   */
  updateMap(map: BpfMap): void;
}

/**
 * Register a struct_ops with the given programs and data, or (given a BpfMap) register a filled
 * BPF_F_LINK struct_ops map such as a `.struct_ops.link` map of a Collection by a link that does
 * not own the map (see attachStructOpsMap). With options, returns a Link that owns the
 * struct_ops map: close unregisters (link close, or deleting the map's element) and frees it.
 * Min kernel 5.6 (links 6.4). Throws TypeError for bad options, TsbpfError for an unknown
 * ops type, BpfError from the kernel (EINVAL: a required member is missing or a name is taken).
 */
export function attachStructOps(options: StructOpsOptions | BpfMap<any, any>): StructOpsLink {
  if (options instanceof BpfMap) return attachStructOpsMap(options);
  checkOptions("attachStructOps", options, KEYS);
  const method = options.method ?? "link";
  if (method !== "link" && method !== "update") throw new TypeError('attachStructOps: method must be "link" or "update"');
  const label = `struct_ops ${options.type}${typeof options.data?.name === "string" ? ` "${options.data.name}"` : ""}`;
  const map = createStructOpsMap({ type: options.type, programs: options.programs, data: options.data, link: method === "link", mapName: options.mapName });
  try {
    if (method === "update") {
      const l = new CallbackLink(
        "struct_ops_map",
        label,
        () => {
          try {
            unregisterStructOpsMap(map);
          } finally {
            map.close();
          }
        },
        () => ({ type: "struct_ops_map", mapId: map.info().id }),
      );
      return Object.assign(l, {
        updateMap(): void {
          throw new NotSupportedError("updating a struct_ops registered by map update", { minKernel: "6.4", detail: 'attach with method "link" (Linux 6.4) to swap maps' });
        },
      });
    }
    const fd = linkCreate({ progFd: map.fd, target: 0, attachType: ATTACH_TYPES.struct_ops, flags: 0, extra: { kind: "none" } }, `${label}: register`);
    return new StructOpsBpfLink(fd, label, map);
  } catch (e) {
    map.close();
    throw e;
  }
}

/**
 * Register a filled BPF_F_LINK struct_ops map by a bpf_link: the map of a `.struct_ops.link`
 * variable that `Collection.load` created and filled (`coll.maps.my_ops`), or one from
 * `createStructOpsMap`. The link does not own the map (the kernel keeps it alive while
 * registered; close the map's owner as usual). Close the link to unregister. Min kernel 6.4.
 * Throws TypeError for a map that is not a BPF_F_LINK struct_ops map, BpfError from the kernel
 * (EINVAL: the value was never filled or a required member is missing; EEXIST: the name is taken).
 */
export function attachStructOpsMap(map: BpfMap<any, any>): StructOpsLink {
  if (!(map instanceof BpfMap)) throw new TypeError("attachStructOpsMap: map must be a BpfMap");
  if (map.typeName !== "struct_ops") throw new TypeError(`attachStructOpsMap: map "${map.name}" is a ${map.typeName ?? map.type} map, not struct_ops`);
  if ((map.flags & MapFlags.LINK) === 0) {
    throw new TypeError(`attachStructOpsMap: map "${map.name}" was not created with BPF_F_LINK (a .struct_ops variable is registered when its map is filled; use SEC(".struct_ops.link") to register by link)`);
  }
  const label = `struct_ops map "${map.name}"`;
  const fd = linkCreate({ progFd: map.fd, target: 0, attachType: ATTACH_TYPES.struct_ops, flags: 0, extra: { kind: "none" } }, `${label}: register`);
  return new StructOpsBpfLink(fd, label, undefined);
}

/** A struct_ops bpf_link, owning its map unless given a borrowed one; update() swaps in another struct_ops map. */
class StructOpsBpfLink extends BpfLink implements StructOpsLink {
  #map: BpfMap | undefined;
  constructor(fd: ConstructorParameters<typeof BpfLink>[0], label: string, map: BpfMap | undefined) {
    super(fd, "struct_ops", label);
    this.#map = map;
  }
  override update(_program: AttachProgram, _options?: { expected?: AttachProgram }): void {
    this.checkOpen();
    throw new TypeError(`${this.describe()}: a struct_ops link is updated with updateMap(map)`);
  }
  /** Replace the registered struct_ops by another BPF_F_LINK struct_ops map (which this link then owns). */
  updateMap(map: BpfMap): void {
    this.checkOpen();
    linkUpdate(this.fd.value, map.fd, undefined, `${this.describe()}: update map`);
    this.#map?.close();
    this.#map = map;
  }
  protected override release(): void {
    try {
      super.release();
    } finally {
      this.#map?.close();
    }
  }
}
