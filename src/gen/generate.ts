/**
 * `generateBindings`: one TypeScript module for one BPF object, as bpf2go writes Go and
 * `bpftool gen skeleton` writes C. The module declares a TS type for every BTF type the object
 * uses (map keys and values, variables, and the types named in `types`), a typed spec and a
 * typed loaded object (programs by kind, maps by key and value, variables, readers), and
 * carries the object's bytes (embedded, or a sidecar file beside it). Pure and deterministic:
 * the same object and options give the same text.
 */
import { createRequire } from "node:module";
import { codecFromBtf } from "../btf/codec.js";
import { skipQualifiers } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import type { BtfType } from "../btf/types.js";
import type { CollectionSpec } from "../elf/collection-spec.js";
import type { MapSpec } from "../spec/map-spec.js";
import { planAttach } from "../link/auto.js";
import { FD_MAP_TYPES, mapTypeName, PER_CPU_MAP_TYPES, type MapTypeName } from "../spec/map-type.js";
import { programTypeName } from "../spec/program-type.js";
import { cName, escapeDoc, propName, renderMembers, renderType, tsTypeOf, type TsType } from "./ts-types.js";
import { TYPE_ANCHOR_PREFIX } from "./anchor.js";
import { GEN_VERSION } from "./version.js";

/**
 * node:crypto on first use (only for the object's hash): a static import made every
 * `import "tsbpf"` load it (#19). process.getBuiltinModule is Node >= 20.16.
 */
function crypto(): typeof import("node:crypto") {
  return (process.getBuiltinModule?.("node:crypto") ?? createRequire(process.execPath)("node:crypto")) as typeof import("node:crypto");
}

/** Options of generateBindings. */
export interface GenerateOptions {
  /** What the header names: the object (`bpf/opensnoop.o`), or the C file it was compiled from. */
  objectPath: string;
  /** The object's file name, for the spec's name and messages. Default: the last part of objectPath. */
  objectFile?: string;
  /** Base name of the generated types (`Opensnoop` → `OpensnoopPrograms`, `Opensnoop`…). Default: from the object's name. */
  name?: string;
  /** C types to declare besides those maps and variables use (`event` or `struct event`), as bpf2go's `-type`. */
  types?: readonly string[];
  /** Where the object's bytes come from: embedded base64 (default), or a file beside the module. */
  objectSource?: { kind: "embed" } | { kind: "sidecar"; /** Relative to the module, e.g. `./opensnoop.bpf.o`. */ path: string };
  /** The module the generated code imports tsbpf from. Default `"tsbpf"`. */
  importFrom?: string;
  /** The command line recorded in the header's second line (without the object). */
  commandLine?: string;
}

export { TYPE_ANCHOR_PREFIX };

/** Maps that take no key (`push`/`pop`/`peek`, or `contains` for bloom filters). */
const KEYLESS: ReadonlySet<MapTypeName> = new Set<MapTypeName>(["queue", "stack", "bloom_filter"]);

/** Names a generated module must not give a C type: its own declarations and the globals it uses. */
const RESERVED = new Set(["Uint8Array", "Array", "Record", "Partial", "Readonly", "Promise", "Symbol", "BigInt", "Number", "String", "Boolean", "Object", "Error", "Disposable"]);

/** `sys_enter_openat_args` → `SysEnterOpenatArgs`. */
export function pascalCase(name: string): string {
  const s = name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  if (s === "") return "Anon";
  return /^[0-9]/.test(s) ? `T${s}` : s;
}

/** Generate the module's text. Throws TypeError for a `types` entry the object's BTF lacks. */
export function generateBindings(spec: CollectionSpec, objectBytes: Uint8Array, options: GenerateOptions): string {
  const btf = spec.btf;
  const base = options.name ?? pascalCase(spec.objectName);
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(base)) throw new TypeError(`tsbpf gen: --name ${JSON.stringify(base)} is not a TypeScript identifier`);
  const own = new Set([`${base}Programs`, `${base}Attach`, `${base}Maps`, `${base}Variables`, `${base}Types`, `${base}Shape`, `${base}Spec`, base]);

  // Names: each named struct/union/enum gets one TS name, first come first served, in id order.
  const tsNames = new Map<number, string>();
  const used = new Set<string>([...RESERVED, ...own, "tsbpf", "meta", "object", "load", "loadSpec"]);
  const typedefNames = new Map<number, string>(); // anonymous struct/union id → its typedef's name
  if (btf) {
    for (const t of btf) {
      if (t.kind !== "typedef" || !t.name) continue;
      const target = safeSkip(btf, t.type);
      if (target && (target.kind === "struct" || target.kind === "union" || target.kind === "enum" || target.kind === "enum64") && !target.name && !typedefNames.has(target.id)) {
        typedefNames.set(target.id, t.name);
      }
    }
  }
  const cNameOf = (t: BtfType): string | undefined => ("name" in t && t.name ? t.name : typedefNames.get(t.id));
  const nameOf = (t: BtfType): string | undefined => {
    if (t.kind !== "struct" && t.kind !== "union" && t.kind !== "enum" && t.kind !== "enum64") return undefined;
    const c = cNameOf(t);
    if (!c) return undefined;
    let n = tsNames.get(t.id);
    if (n) return n;
    n = pascalCase(c);
    if (used.has(n)) n = `${n}${pascalCase(t.kind === "enum64" ? "enum" : t.kind)}`;
    for (let i = 2; used.has(n); i++) n = `${pascalCase(c)}${i}`;
    used.add(n);
    tsNames.set(t.id, n);
    return n;
  };

  /** The TS type of a BTF id as the runtime codec shapes it, or bytes when it has no codec of `size`. */
  const shapeOf = (id: number | undefined, size: number | undefined): TsType => {
    if (!btf || !id || size === undefined) return { t: "bytes" };
    try {
      if (codecFromBtf(btf, id).size !== size) return { t: "bytes" };
      return tsTypeOf(btf, id, nameOf);
    } catch {
      return { t: "bytes" };
    }
  };

  // Types named on the command line.
  const extraTypes: BtfType[] = [];
  for (const raw of options.types ?? []) {
    if (!btf) throw new TypeError(`tsbpf gen: --type ${raw}: ${options.objectPath} has no BTF`);
    const m = /^(struct|union|enum)\s+(.+)$/.exec(raw.trim());
    const kinds = m ? (m[1] === "enum" ? (["enum", "enum64"] as const) : ([m[1]] as const)) : (["struct", "union", "enum", "enum64", "typedef"] as const);
    const name = m ? m[2]! : raw.trim();
    let found: BtfType | undefined;
    for (const k of kinds) {
      found = btf.typeByName(name, k as "struct");
      if (found) break;
    }
    if (!found) {
      throw new TypeError(
        `tsbpf gen: --type ${raw}: no such type in the BTF of ${options.objectPath} (clang writes BTF only for types that globals and functions use): ` +
          `generate from the C with --cc, which adds the type to the build, or declare a global that uses it`,
      );
    }
    extraTypes.push(found);
  }

  // Programs.
  const programLines: string[] = [];
  const programKinds: Record<string, string> = {};
  const attachLines: string[] = [];
  for (const name of Object.keys(spec.programs).sort()) {
    const p = spec.programs[name]!;
    const kind = typeof p.type === "string" ? p.type : programTypeName(p.type);
    programKinds[name] = typeof p.type === "string" ? p.type : String(p.type);
    let how = "";
    let extra = "never";
    try {
      if (p.section === undefined) throw new TypeError("no section");
      const plan = planAttach(p.section);
      how = plan.needs.length ? `; attachAll attaches it when given ${plan.needs.join(", ")}` : "; attachAll attaches it";
      extra = `tsbpf.AttachExtra<${JSON.stringify(plan.kind)}, ${plan.needs.length ? plan.needs.map((n) => JSON.stringify(n)).join(" | ") : "never"}>`;
    } catch {
      how = "; not attached by attachAll";
    }
    attachLines.push(`  /** ${escapeDoc(how.slice(2))} */`);
    attachLines.push(`  ${propName(name)}: ${extra};`);
    programLines.push(`  /** SEC(${JSON.stringify(p.section ?? "")}), program type ${kind ?? p.type}${p.autoload !== false ? "" : "; loaded only when asked for (options.programs)"}${how} */`);
    programLines.push(`  readonly ${propName(name)}${p.autoload !== false ? "" : "?"}: tsbpf.Program${kind ? `<${JSON.stringify(kind)}>` : ""};`);
  }

  // Maps.
  const mapLines: string[] = [];
  for (const key of Object.keys(spec.maps).sort()) {
    const m = spec.maps[key]!;
    const { type, doc } = mapType(m, shapeOf, btf);
    mapLines.push(`  /** ${escapeDoc(doc)} */`);
    mapLines.push(`  readonly ${propName(key)}: ${type};`);
  }

  // Variables.
  const varLines: string[] = [];
  const constants: string[] = [];
  for (const name of Object.keys(spec.variables).sort()) {
    if (name.startsWith(TYPE_ANCHOR_PREFIX)) continue;
    const v = spec.variables[name]!;
    const t = shapeOf(v.typeId, v.size);
    if (v.readonly) constants.push(name);
    const c = btf && v.typeId ? safeCName(btf, v.typeId) : `${v.size} bytes`;
    varLines.push(`  /** ${escapeDoc(`${c} in ${v.map}${v.readonly ? " (a constant: set it on the spec before load)" : ""}`)} */`);
    varLines.push(`  ${propName(name)}: ${renderType(t, "  ")};`);
  }

  // Declarations of the named types reached, and of the --type ones: walk until no new names appear.
  for (const t of extraTypes) if (t.kind !== "typedef") nameOf(t);
  const decls: string[] = [];
  const typesRecord: { key: string; ts: string; kind: string; cname: string; isEnum?: boolean }[] = [];
  const done = new Set<number>();
  const typedefDecls: string[] = [];
  for (const t of extraTypes) {
    if (t.kind !== "typedef") continue;
    const target = safeSkip(btf!, t.type);
    if (target && typedefNames.get(target.id) === t.name) {
      nameOf(target); // `typedef struct {…} name`: declared once, under the typedef's name
      continue;
    }
    const tsName = (() => {
      let n = pascalCase(t.name);
      if (used.has(n)) n = `${n}Typedef`;
      used.add(n);
      return n;
    })();
    const shape = (() => {
      try {
        codecFromBtf(btf!, t.id);
        return tsTypeOf(btf!, t.id, nameOf);
      } catch {
        return { t: "bytes" } as TsType;
      }
    })();
    typedefDecls.push(`/** typedef ${escapeDoc(t.name)} */\nexport type ${tsName} = ${renderType(shape)};`);
    typesRecord.push({ key: t.name, ts: tsName, kind: "typedef", cname: t.name });
  }
  for (;;) {
    const pending = [...tsNames.keys()].filter((id) => !done.has(id)).sort((a, b) => a - b);
    if (pending.length === 0) break;
    for (const id of pending) {
      done.add(id);
      const t = btf!.typeById(id);
      const ts = tsNames.get(id)!;
      const cname = cNameOf(t)!;
      if (t.kind === "enum" || t.kind === "enum64") {
        decls.push(enumDecl(t, ts, cname));
      } else if (t.kind === "struct" || t.kind === "union") {
        let body: string;
        try {
          codecFromBtf(btf!, id);
          // members refer to other named types, declared in a later round of this loop
          const named = tsTypeOf(btf!, id, nameOf);
          body = renderMembers(named.t === "object" ? named.members : [], "");
        } catch (e) {
          body = `{}\n/* ${escapeDoc(`no value layout: ${(e as Error).message}`)} */`;
        }
        const what = t.kind === "union" ? " Decoded with every member; encoding writes the first member present." : "";
        decls.push(`/** ${t.kind} ${escapeDoc(cname)} (${t.size} bytes).${what} */\nexport interface ${ts} ${body}`);
      } else continue;
      // a type named by its typedef is found again through the typedef
      const kind = "name" in t && t.name ? t.kind : "typedef";
      typesRecord.push({ key: cname, ts, kind, cname, isEnum: t.kind === "enum" || t.kind === "enum64" });
    }
  }
  // C name → TS type for readers and codecs; a name two kinds share gets its kind in front.
  const seen = new Map<string, number>();
  for (const r of typesRecord) seen.set(r.key, (seen.get(r.key) ?? 0) + 1);
  const typeEntries = typesRecord
    .filter((r) => !r.isEnum)
    .map((r) => ({ ...r, key: (seen.get(r.key) ?? 0) > 1 ? `${r.kind} ${r.key}` : r.key }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const sha256 = crypto().createHash("sha256").update(objectBytes).digest("hex");
  const objectName = options.objectFile ?? options.objectPath.split("/").pop() ?? options.objectPath;
  const meta = [
    `const meta: tsbpf.BindingMeta = {`,
    `  object: ${JSON.stringify(objectName)},`,
    `  sha256: ${JSON.stringify(sha256)},`,
    `  types: {${typeEntries.map((r) => `\n    ${propName(r.key)}: [${JSON.stringify(r.kind)}, ${JSON.stringify(r.cname)}],`).join("")}${typeEntries.length ? "\n  " : ""}},`,
    `  programs: {${Object.keys(programKinds).map((n) => `\n    ${propName(n)}: ${JSON.stringify(programKinds[n])},`).join("")}${Object.keys(programKinds).length ? "\n  " : ""}},`,
    `};`,
  ].join("\n");

  const source = options.objectSource ?? { kind: "embed" };
  const bytesExpr =
    source.kind === "embed"
      ? `tsbpf.embeddedObject(object, meta)`
      : // beside the module: __dirname under CommonJS, import.meta.url under ESM
        `tsbpf.sidecarObject(typeof __dirname === "string" ? \`\${__dirname}/${source.path.replace(/^\.\//, "").replace(/[`$\\]/g, "\\$&")}\` : new URL(${JSON.stringify(source.path)}, import.meta.url), meta)`;
  const objectDecl =
    source.kind === "embed"
      ? `/** The object's bytes, base64. */\nconst object =\n${chunks(Buffer.from(objectBytes).toString("base64"), 96)
          .map((c) => `  ${JSON.stringify(c)}`)
          .join(" +\n")};\n`
      : "";

  const out: string[] = [];
  out.push(`// Code generated by tsbpf gen ${GEN_VERSION} from ${options.objectPath}; DO NOT EDIT.`);
  if (options.commandLine) out.push(`// ${options.commandLine}`);
  out.push(`/* eslint-disable */`);
  out.push(`import * as tsbpf from ${JSON.stringify(options.importFrom ?? "tsbpf")};`);
  out.push("");
  if (typedefDecls.length || decls.length) {
    out.push(...[...decls, ...typedefDecls].flatMap((d) => [d, ""]));
  }
  out.push(`/** Programs of ${objectName}, by name and kind. */`);
  out.push(`export interface ${base}Programs {${programLines.length ? `\n${programLines.join("\n")}\n` : ""}}`);
  out.push("");
  out.push(`/** What attachAll takes for each program of ${objectName}: the options its section leaves open are required. */`);
  out.push(`export interface ${base}Attach {${attachLines.length ? `\n${attachLines.join("\n")}\n` : ""}}`);
  out.push("");
  out.push(`/** Maps of ${objectName}, by name, with their key and value types. */`);
  out.push(`export interface ${base}Maps {${mapLines.length ? `\n${mapLines.join("\n")}\n` : ""}}`);
  out.push("");
  out.push(`/** Global variables of ${objectName} and their types. */`);
  out.push(`export interface ${base}Variables {${varLines.length ? `\n${varLines.join("\n")}\n` : ""}}`);
  out.push("");
  out.push(`/** The object's types by C name, for \`codec()\`, \`ringBuf()\` and \`perfBuf()\`. */`);
  out.push(`export interface ${base}Types {${typeEntries.length ? `\n${typeEntries.map((r) => `  ${propName(r.key)}: ${r.ts};`).join("\n")}\n` : ""}}`);
  out.push("");
  out.push(`/** Everything above in one shape, for the tsbpf runtime's generic types. */`);
  out.push(`export interface ${base}Shape extends tsbpf.BindingShape {`);
  out.push(`  programs: ${base}Programs;`);
  out.push(`  maps: ${base}Maps;`);
  out.push(`  variables: ${base}Variables;`);
  out.push(`  constants: ${constants.length ? constants.map((c) => JSON.stringify(c)).join(" | ") : "never"};`);
  out.push(`  types: ${base}Types;`);
  out.push(`  attach: ${base}Attach;`);
  out.push(`}`);
  out.push("");
  out.push(`/** The spec of ${objectName}, typed: set constants (\`spec.variables.x.value = …\`), then \`load()\`. */`);
  out.push(`export type ${base}Spec = tsbpf.GeneratedSpec<${base}Shape>;`);
  out.push(`/** ${objectName} loaded: close it (or \`using\`) to release every map and program. */`);
  out.push(`export type ${base} = tsbpf.GeneratedCollection<${base}Shape>;`);
  out.push("");
  out.push(meta);
  out.push("");
  if (objectDecl) out.push(objectDecl);
  out.push(`/** Read the object into a typed spec (pure: no kernel yet). */`);
  out.push(`export function loadSpec(): ${base}Spec {`);
  out.push(`  return new tsbpf.GeneratedSpec<${base}Shape>(${bytesExpr}, meta);`);
  out.push(`}`);
  out.push("");
  out.push(`/** Load the object (\`using obj = load()\`): maps, data, programs; options as Collection.load takes them. */`);
  out.push(`export function load(options?: tsbpf.CollectionLoadOptions): ${base} {`);
  out.push(`  return loadSpec().load(options);`);
  out.push(`}`);
  out.push("");
  return out.join("\n");
}

function chunks(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out.length ? out : [""];
}

function safeSkip(btf: BtfSpec, id: number): BtfType | undefined {
  try {
    return skipQualifiers(btf, id);
  } catch {
    return undefined;
  }
}

function safeCName(btf: BtfSpec, id: number): string {
  try {
    return cName(btf, id);
  } catch {
    return `type [${id}]`;
  }
}

function enumDecl(t: Extract<BtfType, { kind: "enum" | "enum64" }>, ts: string, cname: string): string {
  const big = t.size === 8;
  const entries = t.values.map((v) => `  ${propName(v.name)}: ${big ? `${BigInt(v.value)}n` : String(v.value)},`);
  return [
    `/** enum ${escapeDoc(cname)}: its enumerators by name. Fields of this type read as ${big ? "bigint" : "number"} (any value the C can hold). */`,
    `export const ${ts} = {${entries.length ? `\n${entries.join("\n")}\n` : ""}} as const;`,
    `/** The enumerator names of enum ${escapeDoc(cname)}. */`,
    `export type ${ts}Name = keyof typeof ${ts};`,
    `/** The enumerator values of enum ${escapeDoc(cname)}. */`,
    `export type ${ts} = (typeof ${ts})[${ts}Name];`,
  ].join("\n");
}

/** The BpfMap type of a map, as Collection.load creates it, and a line of doc. */
function mapType(m: MapSpec, shapeOf: (id: number | undefined, size: number | undefined) => TsType, btf: BtfSpec | undefined): { type: string; doc: string } {
  const typeName = typeof m.type === "string" ? m.type : mapTypeName(m.type);
  const label = typeName ?? `type ${m.type}`;
  const entries = m.maxEntries !== undefined ? `, ${m.maxEntries} entries` : "";
  const typed = m.kind === "btf" && typeName !== undefined;
  const cn = (id: number | undefined) => (btf && id ? safeCName(btf, id) : undefined);
  const kDoc = cn(m.btfKeyTypeId);
  const vDoc = cn(m.btfValueTypeId);
  const doc = `${label}${kDoc || vDoc ? `: ${kDoc ?? `${m.keySize ?? 0} bytes`} → ${vDoc ?? `${m.valueSize ?? 0} bytes`}` : ""}${entries}${m.kind === "btf" ? "" : ` (${m.kind} map: raw bytes)`}`;
  const tag = (s: string) => `tsbpf.BpfMap<${s}> & { readonly typeName: ${JSON.stringify(typeName)} }`;
  if (typeName === "ringbuf" || typeName === "user_ringbuf") return { type: tag("never, never"), doc };
  if (typeName === "prog_array") {
    const k = typed ? renderType(shapeOf(m.btfKeyTypeId, m.keySize), "  ") : "Uint8Array";
    return { type: `tsbpf.ProgArray<${k}>`, doc: `${doc}; put programs with setProgram` };
  }
  if (!typed) return { type: "tsbpf.BpfMap<Uint8Array, Uint8Array>", doc };
  const key = KEYLESS.has(typeName) && (m.keySize ?? 0) === 0 ? "never" : renderType(shapeOf(m.btfKeyTypeId, m.keySize), "  ");
  if (typeName === "perf_event_array") return { type: tag(`${key}, Uint8Array`), doc: `${doc}; read it with perfBuf()` };
  if (typeName === "array_of_maps" || typeName === "hash_of_maps") {
    const inner = m.innerMap && !("fd" in m.innerMap) ? mapType({ ...(m.innerMap as MapSpec), kind: m.kind }, shapeOf, btf).type : "tsbpf.BpfMap<Uint8Array, Uint8Array>";
    return { type: `tsbpf.MapOfMaps<${key}, ${inner}, ${JSON.stringify(typeName)}>`, doc: `${doc}; put inner maps with setInnerMap` };
  }
  if (FD_MAP_TYPES.has(typeName)) return { type: `tsbpf.BpfMap<${key}, Uint8Array>`, doc: `${doc}; values are fds on write and ids on read, as bytes` };
  const one = shapeOf(m.btfValueTypeId, m.valueSize);
  let value = renderType(one, "  ");
  if (PER_CPU_MAP_TYPES.has(typeName)) value = /^[A-Za-z0-9_.]+$/.test(value) ? `${value}[]` : `Array<${value}>`;
  return { type: `tsbpf.BpfMap<${key}, ${value}>`, doc: PER_CPU_MAP_TYPES.has(typeName) ? `${doc}; one value per possible CPU` : doc };
}
