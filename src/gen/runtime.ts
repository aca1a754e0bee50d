/**
 * What modules written by `tsbpf gen` call at run time: a typed view of one object's
 * CollectionSpec (`GeneratedSpec`) and of its loaded Collection (`GeneratedCollection`), typed
 * variables, typed ring/perf buffer readers and `attachAll`. The generated module supplies the
 * types (one `Shape` interface) and the object's bytes; everything that runs lives here, so it
 * is tested once rather than per generated file.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { codecFromBtf } from "../btf/codec.js";
import type { BtfSpec } from "../btf/spec.js";
import { bytes as bytesCodec, type Codec } from "../codec.js";
import { Collection, type CollectionLoadOptions } from "../collection/collection.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import type { SpecVariable } from "../elf/variables.js";
import { TsbpfError } from "../errors.js";
import type { BpfMap, SetOptions, UpdateMode } from "../map/bpf-map.js";
import type { attach } from "../link/attach.js";
import type { Program } from "../program/program.js";
import { attachBySection, planAttach } from "../link/auto.js";
import type { Link } from "../link/link.js";
import { TYPE_ANCHOR_PREFIX } from "./anchor.js";
import { PerfReader, type PerfReaderOptions } from "../perf/reader.js";
import { RingBufReader, type RingBufReaderOptions, type RingBufWaitOptions } from "../ringbuf/reader.js";

/**
 * node:crypto, loaded on first use: an import of tsbpf that never needs it does not pay for it.
 * process.getBuiltinModule is Node >= 20.16; require from any path finds a builtin before that.
 */
function crypto(): typeof import("node:crypto") {
  return (process.getBuiltinModule?.("node:crypto") ?? createRequire(process.execPath)("node:crypto")) as typeof import("node:crypto");
}

/** The types a generated module declares for one object. */
export interface BindingShape {
  /** Program name → `Program<kind>`. */
  programs: object;
  /** Map name → `BpfMap<Key, Value>`. */
  maps: object;
  /** Variable name → its value's type. */
  variables: object;
  /** Names of the variables in read-only data (settable before load only). */
  constants: string;
  /** C type name → TS type, for the types readers and codecs can be asked for. */
  types: object;
  /** Program name → what attachAll takes for it (`AttachExtra<kind, needs>`), `never` when attachAll skips it. */
  attach: object;
}

/** Run-time facts a generated module passes along with its types. */
export interface BindingMeta {
  /** The object's file name, for messages. */
  readonly object: string;
  /** SHA-256 of the object's bytes (hex): a sidecar that changed since generation is refused. */
  readonly sha256: string;
  /** C type name → [BTF kind, name] of every type in `BindingShape["types"]`. */
  readonly types: Readonly<Record<string, readonly ["struct" | "union" | "enum" | "enum64" | "typedef", string]>>;
  /** Program name → kind, checked against the object at load. */
  readonly programs: Readonly<Record<string, string>>;
}

/** A `T` with every `char[n]` string as its bytes (`charArrays: "bytes"`). */
export type CharsAsBytes<T> = T extends string
  ? Uint8Array
  : T extends number | bigint | boolean | Uint8Array
    ? T
    : T extends readonly unknown[]
      ? { [K in keyof T]: CharsAsBytes<T[K]> }
      : { [K in keyof T]: CharsAsBytes<T[K]> };

/** Options of the typed codecs and readers: `charArrays: "bytes"` gives `char[n]` as bytes. */
export interface CharArrayOptions<C extends "string" | "bytes" = "string" | "bytes"> {
  charArrays?: C;
}

/** A typed variable of a spec: its initial value, editable before load (constants included). */
export interface SpecVariableOf<T> {
  readonly name: string;
  /** The initial value in the map's contents. */
  value: T;
  /** The underlying variable (bytes, offset, map). */
  readonly variable: SpecVariable;
}

/** A typed variable of a loaded object (`.data`/`.bss`), read and written in the live map. */
export interface VariableOf<T> {
  readonly name: string;
  value: T;
}
/** A typed variable in read-only data (`.rodata`), readable after load. */
export interface ConstantOf<T> {
  readonly name: string;
  readonly value: T;
}

/** The typed variables of a spec. */
export type SpecVariables<S extends BindingShape> = { readonly [K in keyof S["variables"]]: SpecVariableOf<S["variables"][K]> };
/** The typed variables of a loaded object: constants read-only. */
export type LiveVariables<S extends BindingShape> = {
  readonly [K in keyof S["variables"]]: K extends S["constants"] ? ConstantOf<S["variables"][K]> : VariableOf<S["variables"][K]>;
};

/** Names of maps of `S` whose type is `BpfMap<…> & { typeName: N }`. */
export type MapsOfType<S extends BindingShape, N extends string> = {
  [K in keyof S["maps"]]: S["maps"][K] extends { readonly typeName: N } ? K : never;
}[keyof S["maps"]] &
  string;

/** The attach kinds a section can name (keys of the `attach` namespace). */
export type AttachKind = Exclude<keyof typeof attach, "bySection">;
/** The options `attach[kind]` takes (`{}` for kinds that take none). */
export type AttachOptionsOf<K extends AttachKind> = [Parameters<(typeof attach)[K]>[1]] extends [undefined] ? {} : NonNullable<Parameters<(typeof attach)[K]>[1]>;
/**
 * What attachAll takes for one program of attach kind `K`: the options its section leaves open
 * (`Needs`, e.g. `"interface"` for xdp, `"path" | "symbol"` for a bare `uprobe`) required, the
 * kind's other options allowed.
 */
export type AttachExtra<K extends AttachKind, Needs extends string> = Partial<AttachOptionsOf<K>> & { readonly [P in Needs & keyof AttachOptionsOf<K>]-?: AttachOptionsOf<K>[P] };

/** Extra options for `attachAll`, by program: what its section cannot say (an interface, a cgroup…), typed by its kind. */
export type AttachAllOptions<S extends BindingShape> = { readonly [K in keyof S["attach"]]?: S["attach"][K] };

/** A map of maps (`array_of_maps`, `hash_of_maps`) whose inner maps are `Inner`: values are raw (an fd in, an id out); put inner maps with `setInnerMap`. */
export type MapOfMaps<K, Inner, N extends "array_of_maps" | "hash_of_maps"> = BpfMap<K, Uint8Array> & {
  readonly typeName: N;
  /** Type only (absent at run time): the type of the maps it holds, for `setInnerMap`. */
  readonly innerMapType?: Inner;
};
/** A prog array: values are raw (an fd in, an id out); put programs with `setProgram`. */
export type ProgArray<K> = BpfMap<K, Uint8Array> & { readonly typeName: "prog_array" };

/** The key type of a BpfMap type. */
export type KeyOfMap<M> = M extends BpfMap<infer K, infer _V> ? K : never;
/** The inner map type of a MapOfMaps type. */
export type InnerOfMap<M> = M extends { readonly innerMapType?: infer I } ? Exclude<I, undefined> : never;

/** The fd of `holder` (a BpfMap, a Program) as the 4 bytes an fd-holding map takes. */
function fdBytes(holder: unknown, what: string): Uint8Array {
  const fd = typeof holder === "object" && holder !== null ? (holder as { readonly fd?: unknown }).fd : undefined;
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) throw new TypeError(`${what}: expected an open map or program (an object with an fd), got ${holder === null ? "null" : typeof holder}`);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, fd, true);
  return b;
}

/** The links `attachAll` made, by program name: closing the group closes them all. */
export class LinkGroup<P extends string = string> implements Disposable {
  /** Each attached program's link. Programs skipped by attachAll are absent. */
  readonly links: Readonly<Partial<Record<P, Link>>>;
  #closed = false;
  /** @internal made by attachAll. */
  constructor(links: Partial<Record<P, Link>>) {
    this.links = links;
  }
  /** Close every link (detaching its program), newest first. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const all = Object.values(this.links) as Link[];
    for (let i = all.length - 1; i >= 0; i--) {
      try {
        all[i]?.close();
      } catch {
        // best effort: keep closing the rest
      }
    }
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A ring buffer reader that decodes each record as `T`. Owns its RingBufReader. */
export class TypedRingBufReader<T> implements Disposable, AsyncIterable<T> {
  /** The underlying reader (raw bytes, zero-copy `poll`). */
  readonly reader: RingBufReader;
  readonly #codec: Codec<T>;
  readonly #what: string;
  /** @internal made by GeneratedCollection.ringBuf. */
  constructor(reader: RingBufReader, codec: Codec<T>, what: string) {
    this.reader = reader;
    this.#codec = codec;
    this.#what = what;
  }
  #decode(view: DataView, offset: number, length: number): T {
    if (length < this.#codec.size) throw new TsbpfError(`${this.#what}: a record of ${length} bytes is shorter than the type (${this.#codec.size} bytes)`);
    return this.#codec.decode(view, offset);
  }
  /** Decode every record available now with `callback` (synchronous); returns how many. */
  poll(callback: (record: T) => void, limit?: number): number {
    return this.reader.poll((r) => callback(this.#decode(r.view, r.offset, r.length)), limit);
  }
  /** The next record, waiting for one (undefined on timeout or close). */
  async read(options?: RingBufWaitOptions): Promise<T | undefined> {
    const b = await this.reader.read(options);
    return b === undefined ? undefined : this.#decode(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, b.byteLength);
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const b of this.reader) yield this.#decode(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, b.byteLength);
  }
  close(): void {
    this.reader.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A perf event: a decoded sample, or a count of samples the kernel lost. */
export type TypedPerfEvent<T> = { readonly type: "sample"; readonly cpu: number; readonly record: T } | { readonly type: "lost"; readonly cpu: number; readonly lost: number };

/** A perf buffer reader that decodes each sample as `T`. Owns its PerfReader. */
export class TypedPerfReader<T> implements Disposable, AsyncIterable<TypedPerfEvent<T>> {
  readonly reader: PerfReader;
  readonly #codec: Codec<T>;
  readonly #what: string;
  /** @internal made by GeneratedCollection.perfBuf. */
  constructor(reader: PerfReader, codec: Codec<T>, what: string) {
    this.reader = reader;
    this.#codec = codec;
    this.#what = what;
  }
  #event(e: { type: "sample"; cpu: number; data: Uint8Array } | { type: "lost"; cpu: number; lost: number }): TypedPerfEvent<T> {
    if (e.type === "lost") return e;
    if (e.data.length < this.#codec.size) throw new TsbpfError(`${this.#what}: a sample of ${e.data.length} bytes is shorter than the type (${this.#codec.size} bytes)`);
    return { type: "sample", cpu: e.cpu, record: this.#codec.decode(new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength), 0) };
  }
  /** The next event, waiting for one (undefined on timeout or close). */
  async read(options?: RingBufWaitOptions): Promise<TypedPerfEvent<T> | undefined> {
    const e = await this.reader.read(options);
    return e === undefined ? undefined : this.#event(e);
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<TypedPerfEvent<T>, void, undefined> {
    for await (const e of this.reader) yield this.#event(e);
  }
  close(): void {
    this.reader.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The object's bytes, checked against the hash recorded at generation. */
function checkedBytes(bytes: Uint8Array, meta: BindingMeta, where: string): Uint8Array {
  const sum = crypto().createHash("sha256").update(bytes).digest("hex");
  if (sum !== meta.sha256) {
    throw new TsbpfError(`bindings of ${meta.object}: ${where} is not the object they were generated from (sha256 ${sum.slice(0, 12)}…, expected ${meta.sha256.slice(0, 12)}…): run tsbpf gen again`);
  }
  return bytes;
}

/** Decode an embedded object (base64, as `tsbpf gen --embed` writes it). */
export function embeddedObject(base64: string, meta: BindingMeta): Uint8Array {
  return checkedBytes(new Uint8Array(Buffer.from(base64, "base64")), meta, "the embedded object");
}

/**
 * Read a sidecar object file (as `tsbpf gen --sidecar` writes it) from a file URL or path. The
 * generated module passes `${__dirname}/x.o` under CommonJS and `new URL("./x.o", import.meta.url)`
 * under ESM, so the object is found beside the module wherever it is installed.
 */
export function sidecarObject(location: URL | string, meta: BindingMeta): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(location);
  } catch (e) {
    throw new TsbpfError(`bindings of ${meta.object}: cannot read the object beside them (${String(location)}): ${(e as Error).message}`, { cause: e });
  }
  return checkedBytes(bytes, meta, String(location));
}

/** The codec of a named type of the object (`meta.types[name]`). */
function typeCodec(btf: BtfSpec | undefined, meta: BindingMeta, name: string, charArrays: "string" | "bytes"): Codec<unknown> {
  const ref = meta.types[name];
  if (!ref) throw new TypeError(`bindings of ${meta.object}: no type named ${JSON.stringify(name)} (have: ${Object.keys(meta.types).join(", ") || "none"}; add it with tsbpf gen --type)`);
  if (!btf) throw new TsbpfError(`bindings of ${meta.object}: the object has no BTF`);
  const t = btf.typeByName(ref[1], ref[0]);
  if (!t) throw new TsbpfError(`bindings of ${meta.object}: ${ref[0]} ${ref[1]} is not in the object's BTF: run tsbpf gen again`);
  return codecFromBtf(btf, t, { charArrays });
}

/** The codec of a variable, as its value's generated type says (bytes when BTF cannot shape it). */
function variableCodec(btf: BtfSpec | undefined, typeId: number, size: number): Codec<unknown> {
  if (btf && typeId) {
    try {
      const c = codecFromBtf(btf, typeId);
      if (c.size === size) return c;
    } catch {
      // no layout: bytes, as the generated type says
    }
  }
  return bytesCodec(size);
}

function checkPrograms(spec: CollectionSpec, meta: BindingMeta): void {
  for (const [name, kind] of Object.entries(meta.programs)) {
    const p = spec.programs[name];
    const actual = p === undefined ? undefined : typeof p.type === "string" ? p.type : String(p.type);
    if (actual !== kind) {
      throw new TsbpfError(`bindings of ${meta.object}: program "${name}" is ${actual === undefined ? "missing" : `a ${actual} program`}, the bindings say ${kind}: run tsbpf gen again`);
    }
  }
}

/**
 * A typed CollectionSpec: the spec itself, its variables typed (edit constants here, before
 * load), and `load()`.
 */
export class GeneratedSpec<S extends BindingShape> {
  /** The spec (programs, maps… as plain data to edit before load). */
  readonly spec: CollectionSpec;
  /** Typed variables: set `.value` to change what the program sees once loaded. */
  readonly variables: SpecVariables<S>;
  readonly #meta: BindingMeta;

  /** @internal made by a generated module's loadSpec(). */
  constructor(bytes: Uint8Array, meta: BindingMeta) {
    this.#meta = meta;
    // named as CollectionSpec.fromFile names it, so map names are those the bindings were generated with
    this.spec = CollectionSpec.fromBytes(bytes, { name: meta.object.split(".")[0] || "obj" });
    checkPrograms(this.spec, meta);
    const btf = this.spec.btf;
    const vars: Record<string, SpecVariableOf<unknown>> = {};
    for (const [name, v] of Object.entries(this.spec.variables)) {
      if (name.startsWith(TYPE_ANCHOR_PREFIX)) continue; // added by gen --cc so a type reaches BTF
      const codec = variableCodec(btf, v.typeId, v.size);
      const view = () => {
        const b = v.bytes;
        return new DataView(b.buffer, b.byteOffset, b.byteLength);
      };
      vars[name] = {
        name,
        variable: v,
        get value() {
          return codec.decode(view(), 0);
        },
        set value(x) {
          try {
            codec.encode(x, view(), 0);
          } catch (e) {
            if (e instanceof Error) e.message = `variable "${name}": ${e.message}`;
            throw e;
          }
        },
      };
    }
    this.variables = vars as SpecVariables<S>;
  }

  /**
   * Load the spec (maps, data, programs) as `Collection.load` does. The caller owns the result
   * (`using obj = spec.load()`). Throws what Collection.load throws.
   */
  load(options?: CollectionLoadOptions): GeneratedCollection<S> {
    return new GeneratedCollection<S>(Collection.load(this.spec, options), this.spec, this.#meta);
  }
}

/**
 * A typed loaded object: programs by name and kind, maps with their key and value types, typed
 * variables, typed readers, and attachAll. Owns its Collection: close() (or `using`) releases
 * every map and program.
 */
export class GeneratedCollection<S extends BindingShape> implements Disposable {
  /** The underlying collection. */
  readonly collection: Collection;
  /** Loaded programs by name, typed by kind (`Program<"xdp">`…). */
  readonly programs: S["programs"];
  /** Maps by name, typed by key and value. */
  readonly maps: S["maps"];
  /** Global variables: `.data`/`.bss` read and written live, `.rodata` read-only. */
  readonly variables: LiveVariables<S>;
  readonly #spec: CollectionSpec;
  readonly #meta: BindingMeta;

  /** @internal made by GeneratedSpec.load. */
  constructor(collection: Collection, spec: CollectionSpec, meta: BindingMeta) {
    this.collection = collection;
    this.#spec = spec;
    this.#meta = meta;
    this.programs = collection.programs as S["programs"];
    this.maps = collection.maps as S["maps"];
    const btf = spec.btf;
    const vars: Record<string, VariableOf<unknown>> = {};
    for (const [name, live] of Object.entries(collection.variables)) {
      const sv = spec.variables[name];
      if (!sv || name.startsWith(TYPE_ANCHOR_PREFIX)) continue;
      const codec = variableCodec(btf, sv.typeId, sv.size);
      const at = live.offset;
      vars[name] = {
        name,
        get value() {
          const v = collection.dataView(live.map);
          return codec.decode(v, at);
        },
        set value(x) {
          if (live.readonly) throw new TsbpfError(`variable "${name}" is in read-only data ("${live.map}", frozen): set it in the spec before loading`);
          collection.writeData(live.map, (v) => {
            try {
              codec.encode(x, v, at);
            } catch (e) {
              if (e instanceof Error) e.message = `variable "${name}": ${e.message}`;
              throw e;
            }
          });
        },
      };
    }
    this.variables = vars as LiveVariables<S>;
  }

  /** The codec of a named type of the object (`charArrays: "bytes"` for `char[n]` as bytes). */
  codec<N extends keyof S["types"] & string>(name: N): Codec<S["types"][N]>;
  codec<N extends keyof S["types"] & string>(name: N, options: CharArrayOptions<"bytes">): Codec<CharsAsBytes<S["types"][N]>>;
  codec(name: string, options: CharArrayOptions = {}): Codec<unknown> {
    return typeCodec(this.#spec.btf, this.#meta, name, options.charArrays ?? "string");
  }

  /**
   * A reader of ring buffer `map` that decodes each record as the object's type `record`
   * (named with `tsbpf gen --type`, or used by a map or variable). The caller owns the reader.
   */
  ringBuf<N extends keyof S["types"] & string>(map: MapsOfType<S, "ringbuf">, record: N, options?: RingBufReaderOptions): TypedRingBufReader<S["types"][N]> {
    const codec = this.codec(record);
    const m = this.#map(map);
    return new TypedRingBufReader(new RingBufReader(m, options), codec, `ring buffer "${map}" as ${record}`);
  }

  /** A reader of perf event array `map` that decodes each sample as `record`. The caller owns the reader. */
  perfBuf<N extends keyof S["types"] & string>(map: MapsOfType<S, "perf_event_array">, record: N, options?: PerfReaderOptions): TypedPerfReader<S["types"][N]> {
    const codec = this.codec(record);
    const m = this.#map(map);
    return new TypedPerfReader(new PerfReader(m, options), codec, `perf buffer "${map}" as ${record}`);
  }

  /**
   * Put map `inner` at `key` of map of maps `map`; `inner` must have the inner map type the
   * object declares (its `values`), so a map of the wrong key or value type does not compile
   * (the kernel checks the rest: type, sizes, flags). Throws what BpfMap.set throws.
   */
  setInnerMap<N extends MapsOfType<S, "array_of_maps" | "hash_of_maps">>(map: N, key: KeyOfMap<S["maps"][N]>, inner: InnerOfMap<S["maps"][N]>, options?: SetOptions | UpdateMode): void {
    this.#fdMap(map, ["array_of_maps", "hash_of_maps"], "setInnerMap").set(key, fdBytes(inner, `setInnerMap: map "${map}": the inner map`), options);
  }

  /** Put `program` at `key` of prog array `map` (a tail call target). Throws what BpfMap.set throws. */
  setProgram<N extends MapsOfType<S, "prog_array">>(map: N, key: KeyOfMap<S["maps"][N]>, program: Program, options?: SetOptions | UpdateMode): void {
    this.#fdMap(map, ["prog_array"], "setProgram").set(key, fdBytes(program, `setProgram: map "${map}": the program`), options);
  }

  /** Map `name`, checked to be one of `types` (a caller without the types may name any map). */
  #fdMap(name: string, types: readonly string[], what: string): BpfMap<unknown, unknown> {
    const m = this.#map(name);
    if (m.typeName === undefined || !types.includes(m.typeName)) throw new TypeError(`${what}: map "${name}" (${m.typeName ?? `type ${m.type}`}) is not ${types.join(" or ")}`);
    return m;
  }

  #map(name: string): BpfMap<unknown, unknown> {
    const m = (this.collection.maps as Record<string, BpfMap<unknown, unknown> | undefined>)[name];
    if (!m) throw new TypeError(`bindings of ${this.#meta.object}: no map named ${JSON.stringify(name)}`);
    return m;
  }

  /**
   * Attach every loaded program where its section says, as libbpf's skeleton `__attach` does:
   * programs whose section needs more than it says (an interface for `xdp`, a cgroup…) are
   * attached only when `options` gives that for them, and programs that are not attached by a
   * link (struct_ops, syscall…) are skipped. If one attach fails, the links made so far are
   * closed and the error names the program. The caller owns the group.
   */
  attachAll(options: AttachAllOptions<S> = {}): LinkGroup<keyof S["programs"] & string> {
    const extras = options as Readonly<Record<string, Readonly<Record<string, unknown>> | undefined>>;
    for (const name of Object.keys(extras)) {
      if (!Object.hasOwn(this.collection.programs, name)) throw new TypeError(`attachAll: no loaded program named ${JSON.stringify(name)}`);
    }
    const links: Partial<Record<string, Link>> = {};
    const group = new LinkGroup<keyof S["programs"] & string>(links);
    try {
      for (const [name, prog] of Object.entries(this.collection.programs)) {
        const section = this.#spec.programs[name]?.section;
        if (section === undefined) continue;
        let needs: string[];
        try {
          needs = planAttach(section).needs;
        } catch {
          continue; // not attached by a link
        }
        const extra = extras[name];
        if (needs.length > 0 && extra === undefined) continue;
        try {
          links[name] = attachBySection(prog, section, extra ? { ...extra } : {});
        } catch (e) {
          if (e instanceof Error && !e.message.includes(`program "${name}"`)) e.message = `attachAll: program "${name}": ${e.message}`;
          throw e;
        }
      }
    } catch (e) {
      group.close();
      throw e;
    }
    return group;
  }

  /** Close every map and program (and the readers' maps stay open until their readers close). Idempotent. */
  close(): void {
    this.collection.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
