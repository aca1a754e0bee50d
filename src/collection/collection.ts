/**
 * `Collection`: the live objects of a CollectionSpec. Loading creates maps first (reusing
 * compatible pins, or maps the caller passes in), initialises and freezes global data, loads
 * the object's BTF so maps carry key/value types and programs func/line info, loads the
 * programs with every reference resolved, then fills prog arrays and maps of maps from their
 * `values`. If any step fails, everything created so far is closed and the error names the
 * map or program.
 */
import { existsSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import type { Instruction } from "../asm/instruction.js";
import { markSeen, peekDecodable, peekKernelBytes, peekProgram, type CollectionSpec } from "../elf/collection-spec.js";
import { zeroContentsUntouched } from "../elf/data-sections.js";
import { fillKconfig } from "../elf/kconfig.js";
import { readScalar, writeScalar, type ScalarKind, type VariableValue } from "../elf/variables.js";
import { isBpfError, isTsbpfError, isVerifierError, NotSupportedError, TsbpfError, checkOptions } from "../errors.js";
import { BpfMap } from "../map/bpf-map.js";
import type { MapSpec } from "../spec/map-spec.js";
import { MapFlags } from "../spec/map-spec.js";
import type { MmapArrayView } from "../map/mmap-view.js";
import type { ProgramSpec } from "../spec/program-spec.js";
import type { ProgramLoadOptions } from "../program/load.js";
import { loadWithKeptCode, Program } from "../program/program.js";
import { keptProgram, type KeptProgram } from "./kept-programs.js";
import { Btf } from "../map/btf.js";
import { prepareCore } from "./core-prepare.js";
import { strictRecord } from "./strict-record.js";
import type { BtfSpec } from "../btf/spec.js";
import { kernelBtf } from "../features/kernel-btf.js";
import { codecFromBtf } from "../btf/codec.js";
import type { Codec } from "../codec.js";
import { FD_MAP_TYPES, mapTypeName } from "../spec/map-type.js";
import { resolveAttachBtfId } from "./attach-target.js";
import { btfForKernel, mapFlagsForKernel } from "./kernel-fallbacks.js";
import { runningKernelConfig } from "../features/system.js";
import { probeBpfCookie } from "../features/misc.js";
import { fillStructOpsMap, kernelStructOps, newStructOpsMap, unregisterStructOpsMap, type KernelStructOps } from "./struct-ops.js";
import { LD_IMM64 } from "../asm/opcodes.js";
import { checkMapLimit, DEFAULT_MAX_MAP_BYTES } from "./limits.js";
import { describeValue } from "../spec/map-spec.js";
import { verifierSourceContext } from "./verifier-context.js";

/** Per-program load options. */
export interface ProgramLoadSettings {
  /** Verifier log level (1, 2, 4 or OR-ed); the log of a successful load is kept in `Program.verifierLog`. */
  logLevel?: number;
  /** First verifier log buffer size in bytes. */
  logSize?: number;
}

/** Options of `Collection.load`. */
export interface CollectionLoadOptions {
  /**
   * Load exactly these programs (by name), including ones not loaded by default (`?`
   * sections). Default: every program whose section loads by default.
   */
  programs?: readonly string[];
  /** Use these live maps instead of creating the spec's maps of the same names (not closed by the Collection). */
  maps?: Readonly<Record<string, BpfMap<any, any>>>;
  /** Directory for maps with `pinning: "by_name"` (default /sys/fs/bpf). */
  pinPath?: string;
  /** Verifier log level for every program (see ProgramLoadSettings). */
  logLevel?: number;
  /** Per-program settings, by program name; they win over `logLevel`. */
  programOptions?: Readonly<Record<string, ProgramLoadSettings>>;
  /**
   * The kernel BTF that CO-RE relocations and kfunc/`__ksym` externs are resolved against: a
   * parsed BtfSpec or a BTF file path (for kernels without /sys/kernel/btf). Default: the
   * running kernel's (read only when a program needs it). See docs/core.md.
   */
  kernelBtf?: BtfSpec | string;
  /**
   * The most kernel memory one map the object declares may take, in bytes, estimated from its
   * sizes (entries × (key + value), ring buffer size, × CPUs for per-CPU maps). A map above it is
   * refused with TsbpfError before anything is created: an object's sizes are claims, and a few
   * KB of ELF can ask for gigabytes. Default 256 MiB (`DEFAULT_MAX_MAP_BYTES`); raise it for
   * objects meant to be that large, `Infinity` to turn the check off. Maps passed in `maps` are not
   * checked.
   */
  maxMapBytes?: number;
  /**
   * Allow a spec with no program and no map to load (to an empty Collection). Default false: an
   * object with neither is almost always a broken or wrong file, so loading it throws TsbpfError.
   */
  allowEmpty?: boolean;
}

const OPTION_KEYS = new Set(["programs", "maps", "pinPath", "logLevel", "programOptions", "kernelBtf", "maxMapBytes", "allowEmpty"]);

/** A global variable of a loaded collection, read and written in the live map. */
export class CollectionVariable {
  readonly name: string;
  readonly map: string;
  readonly offset: number;
  readonly size: number;
  /** Whether programs cannot change it and userspace cannot write it (frozen `.rodata`). */
  readonly readonly: boolean;
  readonly #kind: ScalarKind;
  readonly #owner: Collection;
  readonly #le: boolean;

  /** @internal made by Collection.load. */
  constructor(init: { name: string; map: string; offset: number; size: number; readonly: boolean; kind: ScalarKind }, owner: Collection, le: boolean) {
    this.name = init.name;
    this.map = init.map;
    this.offset = init.offset;
    this.size = init.size;
    this.readonly = init.readonly;
    this.#kind = init.kind;
    this.#owner = owner;
    this.#le = le;
  }

  /** The current value in the kernel map (through mmap when the map is mmapable). Throws ClosedError after close. */
  get value(): VariableValue {
    const view = this.#owner.dataView(this.map);
    return readScalar(view, this.offset, this.#kind, this.#le);
  }

  /** Write the value into the live map. Throws TsbpfError for read-only data, TypeError/RangeError for a bad value. */
  set value(v: VariableValue) {
    if (this.readonly) throw new TsbpfError(`variable "${this.name}" is in read-only data ("${this.map}", frozen): set it in the spec before loading`);
    this.#owner.writeData(this.map, (view) => writeScalar(view, this.offset, this.#kind, this.#le, v, `variable "${this.name}"`));
  }
}

/** Live maps and programs loaded from a CollectionSpec. Close it (or `using`) to release them all. */
export class Collection implements Disposable {
  /**
   * Loaded programs by name (only those that were loaded). Reading a name that is not here
   * throws TsbpfError naming it and the loaded ones; use `in` or `Object.hasOwn` to ask.
   */
  readonly programs: Record<string, Program>;
  /** Every map by spec name (`.data`, `.rodata`… for global data). An unknown name throws, as for `programs`. */
  readonly maps: Record<string, BpfMap<any, any>>;
  /** Global variables by name. */
  readonly variables: Record<string, CollectionVariable> = {};
  /** The object's BTF as loaded in the kernel, when it had BTF. */
  btf?: Btf;
  // What the records above read through: the loader writes and reads these directly (a write
  // through the Proxy takes V8's slow path, ~0.5 us each).
  readonly #programs: Record<string, Program> = {};
  readonly #maps: Record<string, BpfMap<any, any>> = {};
  readonly #owned: { close(): void }[] = [];
  /** Maps whose by-name pin this load made (not pins it reused): a failed load removes them. */
  readonly #madePins: BpfMap<any, any>[] = [];
  readonly #mmaps = new Map<string, MmapArrayView<Uint8Array>>();
  #closed = false;

  private constructor(spec: CollectionSpec) {
    // A name the spec declares but this load left out (a `?` program, one not asked for) is
    // undefined; a name the object never had throws.
    this.programs = strictRecord("program", this.#programs, new Set(Object.keys(spec.programs)));
    this.maps = strictRecord("map", this.#maps, new Set(Object.keys(spec.maps)));
  }

  /**
   * Load a spec: maps, global data, BTF, programs, then map slots. The caller owns the
   * Collection and closes it. Throws TypeError for bad options (before any syscall),
   * NotSupportedError for objects of the other byte order or features this loader lacks, and
   * the failing step's error (BpfError, VerifierError…) naming the map or program.
   */
  static load(spec: CollectionSpec, options: CollectionLoadOptions = {}): Collection {
    const wanted = checkLoadOptions(spec, options);
    const native = endianness() === "LE" ? "little" : "big";
    if (spec.byteOrder !== native) {
      throw new NotSupportedError(`loading a ${spec.byteOrder}-endian object on this ${native}-endian machine`, {
        detail: "objects for the other byte order can be inspected but not loaded; rebuild with -target bpf",
      });
    }
    const coll = new Collection(spec);
    try {
      coll.#load(spec, options, wanted);
    } catch (e) {
      coll.#undoPins();
      coll.close();
      throw e;
    }
    coll.#madePins.length = 0;
    return coll;
  }

  /** Remove the pins this (failed) load made, newest first; pins it reused stay. Best effort. */
  #undoPins(): void {
    for (let i = this.#madePins.length - 1; i >= 0; i--) {
      try {
        this.#madePins[i].unpin();
      } catch {
        // best effort: the pin was replaced or removed by someone else
      }
    }
    this.#madePins.length = 0;
  }

  #own<T extends { close(): void }>(x: T): T {
    this.#owned.push(x);
    return x;
  }

  #load(spec: CollectionSpec, options: CollectionLoadOptions, wanted: readonly string[]): void {
    const le = spec.byteOrder === "little";
    // BTF first, so maps can carry key/value types. A kernel that refuses it gets maps and
    // programs without BTF, as libbpf does.
    const loadable = spec.btf ? spec.loadableBtf() : undefined;
    if (loadable) this.btf = this.#loadBtf(loadable, `BTF of ${spec.objectName}`);

    // Maps.
    const given = options.maps ?? {};
    const fresh = new Set<string>();
    // struct_ops maps: laid out against the kernel's type (read only when the object has some).
    const structOps = new Map<string, KernelStructOps>();
    const vmlinux = () => (typeof options.kernelBtf === "object" ? options.kernelBtf : kernelBtf());
    const wantedSet = new Set(wanted);
    for (const [key, m] of Object.entries(spec.maps)) {
      const create = m.autocreate !== false || Object.hasOwn(given, key);
      // Programs need the layout even when the map is passed in (it is then not filled), or not
      // created (`?.struct_ops`) but one of its programs is asked for.
      if (m.kind === "struct_ops" && (create || Object.values(m.structOps?.programs ?? {}).some((p) => wantedSet.has(p)))) {
        structOps.set(key, this.#structOpsLayout(key, m, spec.btf, vmlinux));
      }
      if (!create) continue;
      if (Object.hasOwn(given, key)) {
        this.#maps[key] = given[key];
        continue;
      }
      if (m.kind === "struct_ops") {
        this.#maps[key] = this.#createStructOpsMap(key, m, structOps.get(key)!);
        fresh.add(key);
        continue;
      }
      const pinned = m.pinning === "by_name" && existsSync(join(options.pinPath ?? "/sys/fs/bpf", m.name ?? key));
      const map = this.#createMap(key, m, options.pinPath, spec.btf);
      this.#maps[key] = map;
      if (map.pinnedByThis) this.#madePins.push(map);
      if (!pinned) fresh.add(key);
    }

    // Global data and kconfig: initial contents, then freeze read-only data.
    const externs = Object.values(spec.externs);
    for (const [key, m] of Object.entries(spec.maps)) {
      if (!fresh.has(key) || (m.kind !== "data" && m.kind !== "kconfig")) continue;
      const map = this.#maps[key];
      if (m.kind === "data" && (zeroContentsUntouched(m) || m.contents === undefined)) {
        // Zeros (an untouched `.bss`): the kernel made the map zeroed, so nothing is written and
        // nothing of the value's size is allocated here.
        try {
          if (m.freeze) map.freeze();
        } catch (e) {
          throw annotate(e, `map "${key}": initialise`);
        }
        continue;
      }
      let contents = m.contents ?? new Uint8Array(m.valueSize ?? 0);
      if (m.kind === "kconfig") {
        contents = contents.slice();
        try {
          // LINUX_HAS_BPF_COOKIE from the probe, as libbpf does, not from the release number
          const usesCookie = externs.some((x) => x.name === "LINUX_HAS_BPF_COOKIE");
          const facts = usesCookie ? { ...runningKernelConfig(), hasBpfCookie: probeBpfCookie().status === "supported" } : runningKernelConfig();
          fillKconfig(contents, externs, spec.btf!, facts, le);
        } catch (e) {
          throw annotate(e, `map "${key}"`);
        }
      }
      try {
        if (contents.length !== map.valueSize) throw new TsbpfError(`contents are ${contents.length} bytes but the value is ${map.valueSize}`);
        map.set(new Uint8Array(4), contents);
        if (m.freeze) map.freeze();
      } catch (e) {
        throw annotate(e, `map "${key}": initialise`);
      }
    }

    // Programs.
    const fds: Record<string, { fd: number }> = {};
    for (const [key, map] of Object.entries(this.#maps)) fds[key] = map;
    const core = prepareCore(spec, wanted, options.kernelBtf); // CO-RE and ksyms (src/btf/core)
    // One options object for every program without settings of its own.
    const shared = loadOptions(fds, this.btf, options.logLevel, undefined);
    const structOpsTargets = structOpsProgramTargets(spec, structOps);
    for (const name of wanted) {
      const p = core.program(name);
      const settings = options.programOptions?.[name];
      // An ELF program no user code has touched is loaded from kernel bytes made from its
      // section bytes (no decode), kept for later loads with the map fds refilled.
      const kept = p === spec.programs[name] ? keptProgram(p) : undefined;
      if (kept !== undefined && kept.code.bytes === undefined && !kept.noSectionBytes) {
        const made = peekKernelBytes(p);
        if (made !== undefined) kept.code = made;
        else kept.noSectionBytes = true;
      }
      const loadSpec = toProgramSpec(p, spec, this.btf !== undefined, kept);
      if (p.type === "struct_ops" && p.attachBtfId === undefined) {
        // The member it implements: attach_btf_id = the kernel's ops struct, expected attach type = the member's index.
        const t = structOpsTargets.get(name);
        if (!t) throw new TsbpfError(`program "${name}": no struct_ops map of this object points at it, so it has no member to be loaded for (set its attachBtfId and expectedAttachType, or leave it out)`);
        loadSpec.attachBtfId = t.attachBtfId;
        loadSpec.expectedAttachType = t.expectedAttachType;
      }
      if (p.attachBtfId === undefined && p.attachTarget === undefined && p.sectionInfo?.attachBtf) {
        // fentry/lsm/tp_btf/iter: the target's id in the kernel's BTF, read only when needed.
        try {
          const id = resolveAttachBtfId(p, () => (typeof options.kernelBtf === "object" ? options.kernelBtf : kernelBtf()));
          if (id !== undefined) loadSpec.attachBtfId = id;
        } catch (e) {
          throw annotate(e, `program "${name}"`);
        }
      }
      try {
        const opts = settings ? loadOptions(fds, this.btf, settings.logLevel ?? options.logLevel, settings.logSize) : shared;
        // Bytes are kept only for the program's own instructions (no extern rewritten).
        const keep = kept !== undefined && (kept.code.bytes !== undefined || loadSpec.instructions === peekProgram(p, "instructions"));
        const prog = this.#own(keep ? loadWithKeptCode(loadSpec, opts, kept.code) : Program.load(loadSpec, opts));
        this.#programs[name] = prog;
      } catch (e) {
        markSeen(p); // the error may hand its instructions to the caller
        if (isVerifierError(e)) e.addProgramContext(verifierSourceContext(p, spec.btf));
        throw annotate(core.explain(name, e), `program "${name}"`);
      }
    }

    // Prog arrays and maps of maps from `values` (only for maps made here).
    for (const [key, m] of Object.entries(spec.maps)) {
      if (!m.values || !fresh.has(key)) continue;
      const map = this.#maps[key];
      for (const [index, v] of m.values) {
        const k = new Uint8Array(4);
        new DataView(k.buffer).setUint32(0, index, le);
        let target: { fd: number } | undefined;
        if (v.kind === "program") {
          target = Object.hasOwn(this.#programs, v.name) ? this.#programs[v.name] : undefined;
          if (!target) continue; // not loaded (subset or `?`): the slot stays empty, as in libbpf
        } else {
          target = this.#maps[v.name];
        }
        const fdBytes = new Uint8Array(4);
        new DataView(fdBytes.buffer).setUint32(0, target.fd, le);
        try {
          // the key as the map's codec reads it (a number when the key has BTF, else these bytes)
          map.set(map.keyCodec.decode(new DataView(k.buffer), 0), fdBytes);
        } catch (e) {
          throw annotate(e, `map "${key}": values[${index}] = ${v.kind} "${v.name}"`);
        }
      }
    }

    // struct_ops values: data members and program fds. For a BPF_F_LINK map this only fills it
    // (a link registers it: attachStructOps(map)); for a `.struct_ops` map the update registers
    // the ops at once, and closing the collection unregisters it.
    for (const [key, k] of structOps) if (fresh.has(key)) this.#fillStructOps(key, spec.maps[key], k);

    // Variables.
    for (const v of Object.values(spec.variables)) {
      if (!Object.hasOwn(this.#maps, v.map)) continue;
      this.variables[v.name] = new CollectionVariable(
        { name: v.name, map: v.map, offset: v.offset, size: v.size, readonly: v.readonly, kind: v.scalarKind },
        this,
        le,
      );
    }
  }

  #structOpsLayout(key: string, m: MapSpec, objectBtf: BtfSpec | undefined, vmlinux: () => BtfSpec): KernelStructOps {
    try {
      if (!objectBtf) throw new TsbpfError("the object has no BTF");
      return kernelStructOps(m, objectBtf, vmlinux());
    } catch (e) {
      throw annotate(e, `map "${key}"`);
    }
  }

  #createStructOpsMap(key: string, m: MapSpec, k: KernelStructOps): BpfMap<any, any> {
    try {
      // The object's BTF, or (when the kernel refused it) a one-type blob of the module's.
      return this.#own(newStructOpsMap({ name: m.name, valueTypeId: k.valueTypeId, valueSize: k.valueSize, flags: m.flags ?? 0, btf: this.btf }));
    } catch (e) {
      throw annotate(e, `map "${key}"`);
    }
  }

  #fillStructOps(key: string, m: MapSpec, k: KernelStructOps): void {
    const value = k.value.slice();
    const view = new DataView(value.buffer);
    const le = endianness() === "LE";
    for (const slot of k.slots) {
      const prog = Object.hasOwn(this.#programs, slot.program) ? this.#programs[slot.program] : undefined;
      // A program left out of the load leaves its member empty (the kernel refuses a missing required one).
      if (prog) view.setBigUint64(slot.offset, BigInt(prog.fd), le);
    }
    const map = this.#maps[key];
    const link = ((m.flags ?? 0) & MapFlags.LINK) !== 0;
    fillStructOpsMap(map, value, `map "${key}": ${link ? "fill" : "register"} struct_ops ${m.structOps!.typeName}`);
    if (!link) {
      // Registered by the update: the kernel holds the map until the element is deleted.
      this.#own({
        close: () => {
          unregisterStructOpsMap(map);
        },
      });
    }
  }

  /**
   * The object's BTF in the kernel, or undefined when the kernel takes none (maps and programs
   * then go without, as libbpf does). It is offered as the object has it first, and only a
   * refusal runs the BTF probes: a kernel that lacks some kinds then gets it sanitized. libbpf
   * probes every kind on a process's first load; a kernel that has them all pays nothing here.
   */
  #loadBtf(blob: Uint8Array, name: string): Btf | undefined {
    try {
      return this.#own(Btf.load(blob, { name }));
    } catch (e) {
      if (!isTsbpfError(e)) throw e;
    }
    const sanitized = btfForKernel(blob);
    if (sanitized === undefined || sanitized === blob) return undefined; // refused for another reason
    try {
      return this.#own(Btf.load(sanitized, { name }));
    } catch (e) {
      if (!isTsbpfError(e)) throw e;
      return undefined;
    }
  }

  #createMap(key: string, m: MapSpec, pinPath: string | undefined, objectBtf: BtfSpec | undefined): BpfMap<any, any> {
    const withBtf = this.btf !== undefined && (m.btfValueTypeId ?? 0) !== 0;
    const create = (btf: Btf | undefined, flagsFor: (flags: number) => number) => {
      const mapSpec = toMapSpec(m, btf, flagsFor);
      addBtfCodecs(mapSpec, key, m, objectBtf);
      return this.#own(BpfMap.create(mapSpec, pinPath ? { pinPath } : {}));
    };
    try {
      try {
        return create(withBtf ? this.btf : undefined, asDeclared);
      } catch (e) {
        // The flags as declared first: only a refusal runs the map-flag probes, and a kernel
        // that lacks a flag the map works without (mmap, program-side access) gets it dropped.
        if (!isBpfError(e) || !dropsFlags(m)) throw e;
        return create(withBtf ? this.btf : undefined, mapFlagsForKernel);
      }
    } catch (e) {
      if (withBtf && isBpfError(e)) {
        // The kernel refuses this map's BTF (EINVAL for a type it cannot check, ENOTSUPP for
        // sockmap/sockhash values…): retry without, as libbpf does for any error.
        try {
          // The kernel keeps no BTF for it, but the object's BTF still shapes keys and values.
          return create(undefined, mapFlagsForKernel);
        } catch (e2) {
          throw annotate(e2, `map "${key}"`);
        }
      }
      throw annotate(e, `map "${key}"`);
    }
  }

  /** @internal a view of a data map's value (mmap when possible, else a copy read now). */
  dataView(mapName: string): DataView {
    if (this.#closed) throw new TsbpfError("collection is closed");
    const map = this.maps[mapName];
    const mm = this.#mmapOf(mapName, map);
    if (mm) return new DataView(mm.bytes.buffer, mm.bytes.byteOffset, map.valueSize);
    const v = map.get(new Uint8Array(4)) as Uint8Array;
    return new DataView(v.buffer, v.byteOffset, v.byteLength);
  }

  /** @internal write a data map's value with `edit`. */
  writeData(mapName: string, edit: (view: DataView) => void): void {
    if (this.#closed) throw new TsbpfError("collection is closed");
    const map = this.maps[mapName];
    const mm = this.#mmapOf(mapName, map);
    if (mm && !mm.readonly) {
      edit(new DataView(mm.bytes.buffer, mm.bytes.byteOffset, map.valueSize));
      return;
    }
    const v = (map.get(new Uint8Array(4)) as Uint8Array).slice();
    edit(new DataView(v.buffer, v.byteOffset, v.byteLength));
    map.set(new Uint8Array(4), v);
  }

  #mmapOf(name: string, map: BpfMap<any, any>): MmapArrayView<Uint8Array> | undefined {
    const BPF_F_MMAPABLE = 1 << 10;
    const BPF_F_RDONLY_PROG = 1 << 7;
    if ((map.flags & BPF_F_MMAPABLE) === 0) return undefined;
    let mm = this.#mmaps.get(name);
    if (!mm) {
      // Frozen read-only data can only be mapped read-only.
      mm = map.mmap(undefined, { readonly: (map.flags & BPF_F_RDONLY_PROG) !== 0 }) as MmapArrayView<Uint8Array>;
      this.#mmaps.set(name, mm);
    }
    return mm;
  }

  /** Close every map and program this collection created (not maps passed in). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const mm of this.#mmaps.values()) mm.close();
    this.#mmaps.clear();
    for (let i = this.#owned.length - 1; i >= 0; i--) {
      try {
        this.#owned[i].close();
      } catch {
        // closing is best effort: keep closing the rest
      }
    }
    this.#owned.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Checks the options before any syscall; returns the names of the programs to load. */
function checkLoadOptions(spec: CollectionSpec, options: CollectionLoadOptions): readonly string[] {
  if (typeof options !== "object" || options === null) throw new TypeError("Collection.load: options must be an object");
  checkOptions("Collection.load", options, OPTION_KEYS);
  if (options.programs !== undefined) {
    if (!Array.isArray(options.programs)) throw new TypeError("Collection.load: programs must be an array of names");
    for (const n of options.programs) {
      if (typeof n !== "string" || !Object.hasOwn(spec.programs, n)) {
        throw new TypeError(`Collection.load: no program named ${JSON.stringify(n)} (have: ${Object.keys(spec.programs).join(", ")})`);
      }
    }
  }
  // Listed once: the spec's autoload list is made on each read.
  const wanted = options.programs ?? spec.autoloadPrograms;
  for (const n of wanted) {
    const p = spec.programs[n];
    // An ELF program no user code has touched holds the object's instructions: it is enough
    // that they decode (checked without decoding; reading them throws the decoder's ParseError).
    if (p !== undefined && peekDecodable(p) === true) continue;
    const insns: unknown = p !== undefined ? peekProgram(p, "instructions") : undefined;
    if (!Array.isArray(insns) || insns.length === 0 || insns.some((i) => typeof i !== "object" || i === null)) {
      throw new TypeError(`Collection.load: program "${n}": instructions must be a non-empty array of instructions, got ${Array.isArray(insns) ? "an array holding something else" : describeValue(insns)}`);
    }
  }
  if (options.programOptions !== undefined) for (const n of Object.keys(options.programOptions)) {
    if (!Object.hasOwn(spec.programs, n)) throw new TypeError(`Collection.load: programOptions names no program ${JSON.stringify(n)}`);
    checkOptions(`Collection.load: programOptions.${n}`, options.programOptions![n], ["logLevel", "logSize"]);
  }
  if (options.maps !== undefined) for (const n of Object.keys(options.maps)) {
    if (!Object.hasOwn(spec.maps, n)) throw new TypeError(`Collection.load: maps names no map ${JSON.stringify(n)} of the spec`);
  }
  const limit = options.maxMapBytes ?? DEFAULT_MAX_MAP_BYTES;
  if (typeof limit !== "number" || Number.isNaN(limit) || limit < 0) {
    throw new TypeError(`Collection.load: maxMapBytes must be a number of bytes ≥ 0 (or Infinity), got ${describeValue(limit)}`);
  }
  if (options.allowEmpty !== undefined && typeof options.allowEmpty !== "boolean") {
    throw new TypeError(`Collection.load: allowEmpty must be a boolean, got ${describeValue(options.allowEmpty)}`);
  }
  if (!options.allowEmpty && wanted.length === 0 && isEmptyRecord(spec.programs) && isEmptyRecord(spec.maps)) {
    throw new TsbpfError(
      `Collection.load: object "${spec.objectName}" has no program and no map, so there is nothing to load (a truncated, stripped or non-BPF file?); pass { allowEmpty: true } if an empty collection is intended`,
    );
  }
  // Before any syscall: what the object declares must not exceed the limit.
  const given = options.maps;
  for (const key of Object.keys(spec.maps)) {
    const m = spec.maps[key];
    if (m.autocreate === false || (given !== undefined && Object.hasOwn(given, key)) || m.kind === "struct_ops") continue;
    checkMapLimit(key, m, limit);
  }
  return wanted;
}

function isEmptyRecord(r: object): boolean {
  for (const _ in r) return false;
  return true;
}

/**
 * Typed keys and values from the object's BTF for maps defined in `.maps` (u32 → number,
 * u64 → bigint, structs → objects, `char[n]` → string…). fd-holding maps (prog arrays, maps of
 * maps, sockmap/sockhash…) get their key from BTF and keep raw bytes as values (the kernel
 * reads an fd and returns an id); global data maps and maps without BTF types keep raw bytes;
 * a type the codec cannot express does too. Encode errors name the map and the side:
 * `map "policy": key: struct policy_key: missing member "pad"`.
 */
function addBtfCodecs(out: MapSpec<any, any>, key: string, m: MapSpec, btf: BtfSpec | undefined): void {
  if (!btf || m.kind !== "btf") return;
  const typeName = typeof m.type === "string" ? m.type : mapTypeName(m.type);
  if (typeName === undefined) return;
  const k = btfCodec(btf, m.btfKeyTypeId, m.keySize);
  if (k) out.key = labelled(k, `map "${key}": key`);
  if (FD_MAP_TYPES.has(typeName)) return;
  const v = btfCodec(btf, m.btfValueTypeId, m.valueSize);
  if (v) out.value = labelled(v, `map "${key}": value`);
}

/** `codec` whose encode errors start with `what` (the class and the rest of the message are kept). */
export function labelled<T>(codec: Codec<T>, what: string): Codec<T> {
  const inner = codec.encode;
  const out: Codec<T> = {
    size: codec.size,
    decode: codec.decode,
    encode(value, view, offset) {
      try {
        inner.call(codec, value, view, offset);
      } catch (e) {
        if (e instanceof Error && !e.message.startsWith(what)) e.message = `${what}: ${e.message}`;
        throw e;
      }
    },
  };
  if (codec.align !== undefined) (out as { align?: number }).align = codec.align;
  if (codec.decodeMany) out.decodeMany = codec.decodeMany;
  return out;
}

/**
 * Codecs built from a spec's BTF, by type id (null: the type has no codec). Codecs are pure, so
 * repeated loads of one spec share them instead of walking the BTF again per map per load.
 */
const codecCache = new WeakMap<BtfSpec, Map<number, Codec<unknown> | null>>();

function btfCodec(btf: BtfSpec, id: number | undefined, size: number | undefined): Codec<unknown> | undefined {
  if (!id) return undefined;
  let cache = codecCache.get(btf);
  if (!cache) codecCache.set(btf, (cache = new Map()));
  let c = cache.get(id);
  if (c === undefined) {
    try {
      c = codecFromBtf(btf, id);
    } catch {
      c = null;
    }
    cache.set(id, c);
  }
  return c !== null && c.size === size ? c : undefined;
}

const asDeclared = (flags: number) => flags;

/** True when this kernel lacks a flag of `m` (or of its inner map) that the map works without (probes). */
function dropsFlags(m: MapSpec): boolean {
  const inner = m.innerMap as MapSpec | { fd: number } | undefined;
  const flags = [m.flags, inner !== undefined && "type" in inner ? inner.flags : undefined];
  return flags.some((f) => f !== undefined && mapFlagsForKernel(f) !== f);
}

/** The MapSpec BpfMap.create takes, without the ELF-only fields; `flagsFor` gives the flags to ask for. */
function toMapSpec(m: MapSpec, btf: Btf | undefined, flagsFor: (flags: number) => number): MapSpec {
  const out: MapSpec = { name: m.name, type: m.type };
  if (m.keySize !== undefined) out.keySize = m.keySize;
  if (m.valueSize !== undefined) out.valueSize = m.valueSize;
  if (m.maxEntries !== undefined) out.maxEntries = m.maxEntries;
  if (m.flags !== undefined) out.flags = flagsFor(m.flags);
  if (m.numaNode !== undefined) out.numaNode = m.numaNode;
  if (m.mapExtra !== undefined) out.mapExtra = m.mapExtra;
  if (m.pinning !== undefined) out.pinning = m.pinning;
  if (m.ifindex !== undefined) out.ifindex = m.ifindex;
  if (m.innerMap !== undefined) {
    const inner = m.innerMap as MapSpec | { fd: number };
    out.innerMap = "type" in inner ? toMapSpec({ ...inner, name: "" }, undefined, flagsFor) : inner;
    if ("type" in inner) delete (out.innerMap as MapSpec).name;
  }
  if (btf && m.btfValueTypeId) {
    out.btf = btf.fd.value;
    out.btfKeyTypeId = m.btfKeyTypeId ?? 0;
    out.btfValueTypeId = m.btfValueTypeId;
  }
  return out;
}


/** attach_btf_id and expected attach type of every program a struct_ops map points at. */
function structOpsProgramTargets(spec: CollectionSpec, layouts: ReadonlyMap<string, KernelStructOps>): Map<string, { attachBtfId: number; expectedAttachType: number; where: string }> {
  const out = new Map<string, { attachBtfId: number; expectedAttachType: number; where: string }>();
  for (const [key, k] of layouts) {
    for (const slot of k.slots) {
      const where = `${spec.maps[key].structOps!.typeName}.${slot.member} of map "${key}"`;
      const prev = out.get(slot.program);
      if (prev && (prev.attachBtfId !== k.structId || prev.expectedAttachType !== slot.index)) {
        throw new TsbpfError(`program "${slot.program}": used as ${prev.where} and as ${where}; a struct_ops program implements one member (load a copy for the other)`);
      }
      out.set(slot.program, { attachBtfId: k.structId, expectedAttachType: slot.index, where });
    }
  }
  return out;
}

/** Program.load's options for one program. */
function loadOptions(maps: Record<string, { fd: number }>, btf: Btf | undefined, logLevel: number | undefined, logSize: number | undefined): ProgramLoadOptions {
  const out: ProgramLoadOptions = { maps };
  if (btf) out.btf = btf;
  if (logLevel !== undefined) out.logLevel = logLevel;
  if (logSize !== undefined) out.logSize = logSize;
  return out;
}

/**
 * The program's instructions with extern references resolved: the spec's own array when it
 * has none (the common case: no copy per load), else a copy.
 */
function resolveExterns(p: ProgramSpec, spec: CollectionSpec, what: string): readonly Instruction[] {
  const insns = peekProgram(p, "instructions");
  let i = 0;
  for (; i < insns.length; i++) {
    const kind = insns[i].reference?.kind;
    if (kind === "extern" || kind === "ksym") break;
  }
  if (i === insns.length) return insns;
  return insns.map((insn, i) => {
    const ref = insn.reference;
    if (!ref) return insn;
    if (ref.kind === "extern") {
      const ext = spec.externs[ref.name];
      if (insn.opcode === LD_IMM64 && (!ext || ext.weak)) {
        // An unresolved weak extern reads as 0 (its address is NULL), as in libbpf.
        const { reference: _r, ...rest } = insn;
        return { ...rest, src: 0, imm: 0n };
      }
      throw new TsbpfError(`${what}: instruction ${i} refers to extern "${ref.name}", which cannot be resolved (only .kconfig and weak externs are)`);
    }
    if (ref.kind === "ksym") {
      const ext = spec.externs[ref.name];
      throw new NotSupportedError(`kernel symbol "${ref.name}" (kfunc/__ksym) used by ${what}`, {
        detail: ext?.weak ? "weak ksyms are not resolved by this loader yet" : "resolving __ksym and kfunc externs against kernel BTF is not implemented by this loader yet",
      });
    }
    return insn;
  });
}

/** func_info records as the kernel reads them (insn_off, type_id). */
function funcInfoBytes(records: readonly { insnOff: number; typeId: number }[], le: boolean): Uint8Array {
  const out = new Uint8Array(records.length * 8);
  const v = new DataView(out.buffer);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    v.setUint32(i * 8, r.insnOff, le);
    v.setUint32(i * 8 + 4, r.typeId, le);
  }
  return out;
}

/** line_info records as the kernel reads them (insn_off, file_name_off, line_off, line_col). */
function lineInfoBytes(records: readonly { insnOff: number; fileNameOff: number; lineOff: number; lineCol: number }[], le: boolean): Uint8Array {
  const out = new Uint8Array(records.length * 16);
  const v = new DataView(out.buffer);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const at = i * 16;
    v.setUint32(at, r.insnOff, le);
    v.setUint32(at + 4, r.fileNameOff, le);
    v.setUint32(at + 8, r.lineOff, le);
    v.setUint32(at + 12, r.lineCol, le);
  }
  return out;
}

/** The ProgramSpec Program.load takes: ELF fields dropped, externs resolved, func/line info marshalled. */
function toProgramSpec(p: ProgramSpec | undefined, spec: CollectionSpec, withBtf: boolean, kept?: KeptProgram): ProgramSpec {
  if (!p) throw new TypeError("no such program");
  const what = `program "${p.name}"`;
  if (p.type === 0) {
    throw new TsbpfError(`${what}: section "${p.section}" names no known program type: set spec.programs.${p.name}.type before loading`);
  }
  const le = spec.byteOrder === "little";
  // Kept bytes mean the instructions hold no extern (see kept-programs.ts), and the loader
  // reads them only to report a refusal: decoded then, if ever.
  const out: ProgramSpec =
    kept?.code.bytes !== undefined
      ? new KeptLoadSpec(p, p.license ?? spec.license)
      : { name: p.name, type: p.type, instructions: resolveExterns(p, spec, what), license: p.license ?? spec.license };
  if (p.expectedAttachType !== undefined) out.expectedAttachType = p.expectedAttachType;
  if (p.attachBtfId !== undefined) out.attachBtfId = p.attachBtfId;
  if (p.attachTarget !== undefined) out.attachTarget = p.attachTarget;
  if (p.attachBtfObjFd !== undefined) out.attachBtfObjFd = p.attachBtfObjFd;
  if (p.flags !== undefined) out.flags = p.flags;
  if (p.kernelVersion !== undefined) out.kernelVersion = p.kernelVersion;
  if (p.ifindex !== undefined) out.ifindex = p.ifindex;
  if (p.btf !== undefined) out.btf = p.btf;
  else if (withBtf) {
    let btf = kept?.btf;
    if (btf === undefined) {
      btf = infoRecords(p, le);
      if (kept) kept.btf = btf;
    }
    if (btf !== null) out.btf = btf;
  }
  return out;
}

/** The spec Program.load gets for a program with kept bytes: its instructions are read only on demand. */
class KeptLoadSpec implements ProgramSpec {
  readonly #program: ProgramSpec;
  name: ProgramSpec["name"];
  type: ProgramSpec["type"];
  license: ProgramSpec["license"];
  constructor(program: ProgramSpec, license: string | undefined) {
    this.#program = program;
    this.name = program.name;
    this.type = program.type;
    this.license = license;
  }
  get instructions(): ProgramSpec["instructions"] {
    return peekProgram(this.#program, "instructions");
  }
}

/** The program's func/line info as the kernel reads them, or null when it has none. */
function infoRecords(p: ProgramSpec, le: boolean): NonNullable<ProgramSpec["btf"]> | null {
  // Each field is read once: they are lazy on the spec.
  const funcInfos = peekProgram(p, "funcInfos");
  const lineInfos = peekProgram(p, "lineInfos");
  if (!funcInfos?.length && !lineInfos?.length) return null;
  const btf: { funcInfo?: Uint8Array; funcInfoRecSize?: number; lineInfo?: Uint8Array; lineInfoRecSize?: number } = {};
  if (funcInfos?.length) {
    btf.funcInfo = funcInfoBytes(funcInfos, le);
    btf.funcInfoRecSize = 8;
  }
  if (lineInfos?.length) {
    btf.lineInfo = lineInfoBytes(lineInfos, le);
    btf.lineInfoRecSize = 16;
  }
  return btf;
}

/** The error with `what` in front, unless its message already names it. */
function annotate(e: unknown, what: string): unknown {
  if (!(e instanceof Error)) return e;
  if (e.message.includes(what)) return e;
  if (isTsbpfError(e)) {
    // Keep the error's class (BpfError, VerifierError…) and facts; say which object failed.
    e.message = `${what}: ${e.message}`;
    return e;
  }
  return new TsbpfError(`${what}: ${e.message}`, { cause: e });
}
