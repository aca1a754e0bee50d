/**
 * C from BTF: the header `bpftool btf dump file … format c` gives (`vmlinux.h`), written from
 * the BTF format and the C language rules, not from libbpf's code.
 *
 * - Every named struct, union, enum and typedef is emitted once, after everything its
 *   definition needs complete (members by value), in id order otherwise.
 * - Types reached only through pointers get a forward declaration (`struct foo;`) when a
 *   definition needs them before they are defined; reference loops through pointers are fine.
 * - Anonymous structs, unions and enums are written inline where they are used; anonymous
 *   enums nothing refers to are written on their own (their enumerators are constants).
 * - Names that C would see twice (two different `struct foo` in one kernel, an enumerator
 *   declared by two enums) get a `___2`, `___3`… suffix, as bpftool does, so the header compiles;
 *   CO-RE ignores such suffixes.
 * - Layout: bitfields (`int x: 3;`), `__attribute__((packed))` where the offsets need it,
 *   anonymous padding bitfields (`long: 64;`) where BTF offsets are beyond the natural ones
 *   (over-aligned members and structs), `__attribute__((mode(…)))` for enums not 4 bytes wide.
 * - Type tags (`__user`, `__rcu`, `__percpu`) are kept as `__attribute__((btf_type_tag("…")))`, so
 *   programs built against the header carry them in their BTF, as the verifier expects.
 * - The whole header is wrapped in `#pragma clang attribute push
 *   (__attribute__((preserve_access_index)), apply_to = record)` so every struct is CO-RE
 *   relocatable (define BPF_NO_PRESERVE_ACCESS_INDEX to turn it off).
 *
 * Pure. Throws ParseError for BTF with reference loops that cannot be written as C.
 */
import { ParseError, checkOptions } from "../errors.js";
import { MAX_RESOLVE_DEPTH } from "./query.js";
import type { BtfSpec } from "./spec.js";
import type { BtfMember, BtfType } from "./types.js";

/** Options of dumpC. */
export interface DumpCOptions {
  /** Include guard name (default `__VMLINUX_H__`). */
  guard?: string;
  /** Wrap the header in the preserve_access_index pragma (default true). */
  preserveAccessIndex?: boolean;
  /**
   * Declare every kfunc (a FUNC tagged `bpf_kfunc`) as `extern … __weak __ksym;`, as bpftool
   * does, inside `#ifndef BPF_NO_KFUNC_PROTOTYPES` (default true).
   */
  kfuncs?: boolean;
}

const KNOWN = new Set(["guard", "preserveAccessIndex", "kfuncs"]);

const enum State {
  None = 0,
  Ordering = 1,
  Ordered = 2,
}

/** Padding gaps longer than this many `long: 64;` lines are written as one char array. */
const MAX_PAD_LINES = 64;

/** Typedefs of compiler builtins that a C compiler refuses to see redefined. */
const SKIPPED_TYPEDEFS = new Set(["__builtin_va_list"]);

/** How deeply declarators may nest (pointer to array of pointer to …) before we call it a loop. */
const MAX_DECLARATOR_DEPTH = 256;

/**
 * Write BTF as a C header. Pure: give it `kernelBtf()` for a `vmlinux.h`, or any parsed BTF
 * (split BTF includes its base). Throws ParseError for unprintable loops, TypeError for bad
 * options.
 */
export function dumpC(spec: BtfSpec, options?: DumpCOptions): string {
  if (options) checkOptions("dumpC", options, KNOWN);
  return new CDumper(spec).dump(options?.guard ?? "__VMLINUX_H__", options?.preserveAccessIndex ?? true, options?.kfuncs ?? true);
}

class CDumper {
  readonly #spec: BtfSpec;
  readonly #last: number;
  readonly #state: Uint8Array;
  /** Named composites declared or defined so far (so no second forward declaration). */
  readonly #declared: Uint8Array;
  readonly #defined: Uint8Array;
  readonly #names = new Map<number, string>();
  readonly #enumerators = new Map<string, string>();
  readonly #alignCache = new Map<number, number>();
  readonly #packedCache = new Map<number, boolean>();
  readonly #queue: number[] = [];
  readonly #referenced: Uint8Array;
  #out: string[] = [];

  constructor(spec: BtfSpec) {
    this.#spec = spec;
    this.#last = spec.nextId - 1;
    const n = spec.nextId;
    this.#state = new Uint8Array(n);
    this.#declared = new Uint8Array(n);
    this.#defined = new Uint8Array(n);
    this.#referenced = new Uint8Array(n);
    this.#budget = 64 * n + 1_000_000;
  }

  #t(id: number): BtfType {
    return this.#spec.typeById(id);
  }

  dump(guard: string, pai: boolean, kfuncs: boolean): string {
    this.#assignNames();
    this.#markReferences();
    for (let id = 1; id <= this.#last; id++) this.#order(id, false, 0);
    const out = this.#out;
    out.push(`#ifndef ${guard}\n#define ${guard}\n\n`);
    if (pai) {
      out.push(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n",
      );
    }
    for (const id of this.#queue) this.#emit(id);
    if (kfuncs) this.#kfuncs();
    if (pai) out.push("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
    out.push(`#endif /* ${guard} */\n`);
    return out.join("");
  }

  /** `extern` prototypes of the kernel's kfuncs (FUNCs with a `bpf_kfunc` decl tag), in id order. */
  #kfuncs(): void {
    const ids = new Set<number>();
    for (let id = 1; id <= this.#last; id++) {
      const t = this.#t(id);
      if (t.kind === "decl_tag" && t.name === "bpf_kfunc" && t.componentIdx === -1 && this.#t(t.type).kind === "func") ids.add(t.type);
    }
    if (ids.size === 0) return;
    const out = this.#out;
    out.push("#ifndef BPF_NO_KFUNC_PROTOTYPES\n#ifndef __ksym\n#define __ksym __attribute__((section(\".ksyms\")))\n#endif\n\n");
    out.push("#ifndef __weak\n#define __weak __attribute__((weak))\n#endif\n\n");
    const seen = new Set<string>();
    for (const id of [...ids].sort((a, b) => a - b)) {
      const fn = this.#t(id);
      if (fn.kind !== "func" || seen.has(fn.name)) continue;
      seen.add(fn.name);
      const proto = this.#t(fn.type);
      if (proto.kind !== "func_proto") continue;
      const params = proto.params.map((p, i) =>
        i === proto.params.length - 1 && p.type === 0 && p.name === "" ? "..." : this.#declare(p.type, p.name, "", 0),
      );
      out.push(`extern ${this.#declare(proto.returnType, `${fn.name}(${params.length ? params.join(", ") : "void"})`, "", 0)} __weak __ksym;\n`);
    }
    out.push("\n#endif\n\n");
  }

  // --- names -------------------------------------------------------------------------------

  /** Give each named type its C name, adding ___N to the second and later users of a name. */
  #assignNames(): void {
    const tags = new Map<string, number>(); // struct/union/enum tags share one namespace
    const idents = new Map<string, number>(); // typedef names and enumerators share another
    const firstComposite = new Map<string, number>();
    const unique = (ns: Map<string, number>, name: string) => {
      const n = (ns.get(name) ?? 0) + 1;
      ns.set(name, n);
      return n === 1 ? name : `${name}___${n}`;
    };
    for (let id = 1; id <= this.#last; id++) {
      const t = this.#t(id);
      switch (t.kind) {
        case "struct":
        case "union":
        case "enum":
        case "enum64":
          if (t.name) {
            this.#names.set(id, unique(tags, t.name));
            if ((t.kind === "struct" || t.kind === "union") && !firstComposite.has(`${t.kind} ${t.name}`)) {
              firstComposite.set(`${t.kind} ${t.name}`, id);
            }
          }
          if (t.kind === "enum" || t.kind === "enum64") {
            for (const v of t.values) {
              const key = `${id}:${v.name}`;
              this.#enumerators.set(key, unique(idents, v.name));
            }
          }
          break;
        case "typedef":
          this.#names.set(id, unique(idents, t.name));
          break;
        default:
      }
    }
    // a forward declaration names the same tag as the definition it stands for
    for (let id = 1; id <= this.#last; id++) {
      const t = this.#t(id);
      if (t.kind === "fwd") {
        const def = firstComposite.get(`${t.union ? "union" : "struct"} ${t.name}`);
        this.#names.set(id, def !== undefined ? this.#names.get(def)! : t.name);
      }
    }
  }

  #name(id: number): string {
    return this.#names.get(id) ?? this.#t(id).name;
  }

  /** Mark anonymous enums some other type uses (those are written inline, not on their own). */
  #markReferences(): void {
    const mark = (id: number) => {
      if (id > 0 && id <= this.#last) this.#referenced[id] = 1;
    };
    for (let id = 1; id <= this.#last; id++) {
      const t = this.#t(id);
      switch (t.kind) {
        case "struct":
        case "union":
          for (const m of t.members) mark(m.type);
          break;
        case "func_proto":
          mark(t.returnType);
          for (const p of t.params) mark(p.type);
          break;
        case "array":
          mark(t.type);
          break;
        case "ptr":
        case "typedef":
        case "const":
        case "volatile":
        case "restrict":
        case "type_tag":
        case "var":
        case "func":
          mark(t.type);
          break;
        default:
      }
    }
  }

  // --- ordering ----------------------------------------------------------------------------

  /** Queue the named types `id` needs, then `id` itself; `ptr` when reached through a pointer. */
  #order(id: number, ptr: boolean, depth: number): void {
    if (depth > MAX_DECLARATOR_DEPTH) throw new ParseError(`BTF: type [${id}] nests too deeply to write as C (loop?)`);
    if (id === 0) return;
    const t = this.#t(id);
    const d = depth + 1;
    switch (t.kind) {
      case "ptr":
        this.#order(t.type, true, d);
        return;
      case "array":
        this.#order(t.type, ptr, d);
        return;
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        this.#order(t.type, ptr, d);
        return;
      case "func_proto":
        this.#order(t.returnType, ptr, d);
        for (const p of t.params) this.#order(p.type, ptr, d);
        return;
      case "struct":
      case "union": {
        if (t.name && ptr) return; // a declaration will do
        const s = this.#state[id];
        if (s === State.Ordered || s === State.Ordering) return;
        this.#state[id] = State.Ordering;
        // members are written inside this definition: they must be complete first
        for (const m of t.members) this.#order(m.type, false, d);
        this.#state[id] = State.Ordered;
        if (t.name) this.#queue.push(id);
        return;
      }
      case "enum":
      case "enum64":
        if (this.#state[id] === State.Ordered) return;
        this.#state[id] = State.Ordered;
        if (t.name || !this.#referenced[id]) this.#queue.push(id);
        return;
      case "fwd":
        if (this.#state[id] === State.Ordered) return;
        this.#state[id] = State.Ordered;
        this.#queue.push(id);
        return;
      case "typedef": {
        const s = this.#state[id];
        if (s === State.Ordering) return;
        if (s !== State.Ordered) {
          if (SKIPPED_TYPEDEFS.has(t.name)) {
            this.#state[id] = State.Ordered;
            return;
          }
          this.#state[id] = State.Ordering;
          // `typedef struct s t;` only declares struct s: the typedef can come first, which
          // breaks loops like `typedef struct s t; struct s { t *next; };`
          const target = this.#t(this.#skipTags(t.type));
          const declOnly = (target.kind === "struct" || target.kind === "union") && target.name !== "";
          this.#order(t.type, ptr || declOnly, d);
          this.#state[id] = State.Ordered;
          this.#queue.push(id);
        }
        // used by value: what the typedef names must be complete (after the typedef is fine)
        if (!ptr) this.#order(t.type, false, d);
        return;
      }
      default:
      // int, float, void: built in; func, var, datasec, decl_tag: not written
    }
  }

  // --- emission ----------------------------------------------------------------------------

  #emit(id: number): void {
    const t = this.#t(id);
    const out = this.#out;
    switch (t.kind) {
      case "struct":
      case "union":
        this.#declared[id] = 1; // the tag is in scope inside its own definition
        this.#declaredTags.add(`${t.kind} ${this.#name(id)}`);
        this.#forwardDeclare(id, 0);
        out.push(`${this.#composite(t, "")};\n\n`);
        this.#defined[id] = 1;
        this.#declared[id] = 1;
        return;
      case "enum":
      case "enum64":
        out.push(`${this.#enumDef(t, "")};\n\n`);
        return;
      case "fwd":
        if (!this.#declared[id]) out.push(`${t.union ? "union" : "struct"} ${this.#name(id)};\n\n`);
        this.#declared[id] = 1;
        return;
      case "typedef":
        this.#forwardDeclare(t.type, 0);
        out.push(`typedef ${this.#declare(t.type, this.#name(id), "", 0)};\n\n`);
        return;
      default:
    }
  }

  /**
   * Write `struct X;` for the named composites that `id`'s text will mention through pointers
   * (or in prototypes) before they are defined. Walks what gets written inline, not named types.
   */
  #forwardDeclare(id: number, depth: number, top = true): void {
    if (depth > MAX_DECLARATOR_DEPTH) throw new ParseError(`BTF: type [${id}] nests too deeply to write as C (loop?)`);
    if (id === 0) return;
    const t = this.#t(id);
    const d = depth + 1;
    switch (t.kind) {
      case "ptr":
      case "array":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        this.#forwardDeclare(t.type, d, false);
        return;
      case "func_proto":
        this.#forwardDeclare(t.returnType, d, false);
        for (const p of t.params) this.#forwardDeclare(p.type, d, false);
        return;
      case "struct":
      case "union":
        if (t.name && !top) {
          this.#declareTag(id, t.kind);
          return;
        }
        for (const m of t.members) this.#forwardDeclare(m.type, d, false);
        return;
      case "fwd":
        this.#declareTag(id, t.union ? "union" : "struct");
        return;
      default:
    }
  }

  #declareTag(id: number, kw: string): void {
    if (this.#declared[id] || this.#defined[id]) return;
    // one forward declaration per printed name (a fwd and its definition share it)
    const name = this.#name(id);
    const key = `${kw} ${name}`;
    if (this.#declaredTags.has(key)) return;
    this.#declaredTags.add(key);
    this.#declared[id] = 1;
    this.#out.push(`${key};\n\n`);
  }

  readonly #declaredTags = new Set<string>();

  /**
   * Lines left to write. Anonymous types are written inline at every use, and hostile BTF can
   * nest them so that the text grows exponentially: stop at a bound real BTF never reaches.
   */
  #budget: number;

  #spend(lines: number, id: number): void {
    this.#budget -= lines;
    if (this.#budget < 0) throw new ParseError(`BTF: type [${id}]: the C text grows beyond any real header (hostile BTF?)`);
  }

  /**
   * `type` declared as `inner` (a name or an abstract declarator), C's inside-out syntax:
   * `int (*cb)(void *, int)`, `char *argv[3]`, `const volatile int x`.
   */
  #declare(id: number, inner: string, indent: string, depth: number): string {
    if (depth > MAX_DECLARATOR_DEPTH) throw new ParseError(`BTF: type [${id}] nests too deeply to write as C (loop?)`);
    const d = depth + 1;
    const sep = (s: string) => (s === "" || s.startsWith("[") ? s : ` ${s}`);
    if (id === 0) return `void${sep(inner)}`;
    const t = this.#t(id);
    switch (t.kind) {
      case "ptr": {
        const pointee = this.#skipTags(t.type);
        const wrap = pointee !== 0 && (this.#t(pointee).kind === "array" || this.#t(pointee).kind === "func_proto");
        const p = `*${inner}`;
        return this.#declare(t.type, wrap ? `(${p})` : p, indent, d);
      }
      case "array":
        return this.#declare(t.type, `${inner}[${t.nelems}]`, indent, d);
      case "func_proto": {
        const params = t.params.map((p, i) =>
          i === t.params.length - 1 && p.type === 0 && p.name === "" ? "..." : this.#declare(p.type, "", indent, d),
        );
        return this.#declare(t.returnType, `${inner}(${params.length ? params.join(", ") : "void"})`, indent, d);
      }
      case "const":
      case "volatile":
      case "restrict": {
        // qualifiers of a pointer go after the star; of anything else, before the type
        const q = t.kind;
        const base = this.#skipTags(t.type);
        if (base !== 0 && this.#t(base).kind === "ptr") return this.#declare(t.type, `${q}${inner ? ` ${inner}` : ""}`, indent, d);
        if (base !== 0 && this.#t(base).kind === "array") return this.#declare(t.type, inner, indent, d); // C has no const arrays
        return `${q} ${this.#declare(t.type, inner, indent, d)}`;
      }
      case "type_tag": {
        // after what it tags: `int __attribute__((btf_type_tag("user"))) *p` tags the int,
        // `int *__attribute__((btf_type_tag("rcu"))) p` the pointer (clang keeps both in BTF)
        const attr = `__attribute__((btf_type_tag(${JSON.stringify(t.name)})))`;
        return this.#declare(t.type, inner === "" ? attr : inner.startsWith("[") ? `${attr}${inner}` : `${attr} ${inner}`, indent, d);
      }
      case "int":
      case "float":
        return `${t.name}${sep(inner)}`;
      case "typedef":
        return `${this.#name(id)}${sep(inner)}`;
      case "fwd":
        return `${t.union ? "union" : "struct"} ${this.#name(id)}${sep(inner)}`;
      case "struct":
      case "union":
        if (t.name) return `${t.kind} ${this.#name(id)}${sep(inner)}`;
        return `${this.#composite(t, indent, d)}${sep(inner)}`;
      case "enum":
      case "enum64":
        if (t.name) return `enum ${this.#name(id)}${sep(inner)}`;
        return `${this.#enumDef(t, indent)}${sep(inner)}`;
      default:
        throw new ParseError(`BTF: type [${id}] (${t.kind}) cannot be used as a C type`);
    }
  }

  #skipTags(id: number): number {
    for (let i = 0; i < MAX_RESOLVE_DEPTH && id !== 0; i++) {
      const t = this.#t(id);
      if (t.kind !== "type_tag" && t.kind !== "const" && t.kind !== "volatile" && t.kind !== "restrict") return id;
      id = t.type;
    }
    return id;
  }

  #enumDef(t: Extract<BtfType, { kind: "enum" | "enum64" }>, indent: string): string {
    const head = t.name ? `enum ${this.#name(t.id)} {` : "enum {";
    this.#spend(t.values.length + 1, t.id);
    const lines = t.values.map((v) => {
      const name = this.#enumerators.get(`${t.id}:${v.name}`) ?? v.name;
      let value: string;
      if (t.kind === "enum64") value = `${v.value}${t.signed ? "LL" : "ULL"}`;
      else value = String(v.value);
      return `${indent}\t${name} = ${value},\n`;
    });
    const mode = t.size === 1 ? "QI" : t.size === 2 ? "HI" : t.size === 8 && t.kind === "enum" ? "DI" : undefined;
    return `${head}\n${lines.join("")}${indent}}${mode ? ` __attribute__((mode(${mode})))` : ""}`;
  }

  // --- struct layout -----------------------------------------------------------------------

  /** Alignment in bytes of `id` as the emitted C will have it (packed structs align to 1). */
  #align(id: number, depth = 0): number {
    if (depth > MAX_DECLARATOR_DEPTH) throw new ParseError(`BTF: type [${id}] nests too deeply (loop?)`);
    if (id === 0) return 1;
    const cached = this.#alignCache.get(id);
    if (cached !== undefined) return cached;
    const t = this.#t(id);
    let a: number;
    switch (t.kind) {
      case "int":
      case "float":
      case "enum":
      case "enum64":
        a = Math.min(Math.max(t.size, 1), 16);
        if (t.kind === "float" && t.size > 8) a = 16;
        break;
      case "ptr":
        a = 8;
        break;
      case "array":
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        a = this.#align(t.type, depth + 1);
        break;
      case "struct":
      case "union":
        a = 1;
        if (!this.#packed(t, depth + 1)) for (const m of t.members) a = Math.max(a, this.#memberAlign(m, depth + 1));
        break;
      default:
        a = 1;
    }
    this.#alignCache.set(id, a);
    return a;
  }

  /** Alignment a member contributes (unnamed bitfields contribute none). */
  #memberAlign(m: BtfMember, depth: number): number {
    if (m.bitfieldSize && m.name === "") return 1;
    return this.#align(m.type, depth);
  }

  #size(id: number, depth = 0): number {
    if (depth > MAX_DECLARATOR_DEPTH) throw new ParseError(`BTF: type [${id}] nests too deeply (loop?)`);
    const t = this.#t(id);
    switch (t.kind) {
      case "int":
      case "float":
      case "enum":
      case "enum64":
      case "struct":
      case "union":
        return t.size;
      case "ptr":
        return 8;
      case "array":
        return t.nelems * this.#size(t.type, depth + 1);
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        return this.#size(t.type, depth + 1);
      default:
        return 0;
    }
  }

  /** Whether a struct's BTF offsets and size need `__attribute__((packed))`. */
  #packed(t: Extract<BtfType, { kind: "struct" | "union" }>, depth = 0): boolean {
    const cached = this.#packedCache.get(t.id);
    if (cached !== undefined) return cached;
    this.#packedCache.set(t.id, false); // provisional, for loops through hostile BTF
    let align = 1;
    let packed = false;
    for (const m of t.members) {
      const a = this.#memberAlign(m, depth + 1);
      align = Math.max(align, a);
      if (m.bitfieldSize === 0 && m.bitOffset % (a * 8) !== 0) packed = true;
    }
    if (!packed && t.kind === "struct") {
      // bitfields the natural rules would place elsewhere (across a storage unit) also need it
      let cur = 0;
      for (const m of t.members) {
        if (m.bitfieldSize) {
          const unit = this.#size(m.type) * 8 || 8;
          const natural = Math.floor(cur / unit) === Math.floor((cur + m.bitfieldSize - 1) / unit) ? cur : Math.ceil(cur / unit) * unit;
          if (m.bitOffset < natural) packed = true;
          cur = m.bitOffset + m.bitfieldSize;
        } else {
          cur = m.bitOffset + this.#size(m.type) * 8;
        }
      }
    }
    if (t.size % align !== 0) packed = true;
    this.#packedCache.set(t.id, packed);
    return packed;
  }

  /** A struct or union definition (with members and padding), without the final `;`. */
  #composite(t: Extract<BtfType, { kind: "struct" | "union" }>, indent: string, depth = 0): string {
    const head = t.name ? `${t.kind} ${this.#name(t.id)} {` : `${t.kind} {`;
    const inner = `${indent}\t`;
    this.#spend(t.members.length + 1, t.id);
    const packed = this.#packed(t);
    const lines: string[] = [];
    let cur = 0; // bits laid out so far
    let pads = 0;
    const pad = (to: number) => {
      // anonymous bitfields, never crossing a 64-bit unit, place the next member exactly
      while (cur < to) {
        if (cur % 64 === 0 && to - cur > MAX_PAD_LINES * 64) {
          // a gap no real struct has (hostile or absurd BTF): one byte array, not a million lines
          const bytes = Math.floor((to - cur) / 8);
          lines.push(`${inner}char __pad${pads++}[${bytes}];\n`);
          cur += bytes * 8;
          continue;
        }
        const room = 64 - (cur % 64);
        const n = Math.min(to - cur, room);
        lines.push(`${inner}long: ${n};\n`);
        cur += n;
      }
    };
    for (const m of t.members) {
      if (t.kind === "struct") {
        let natural: number;
        if (m.bitfieldSize) {
          const unit = this.#size(m.type) * 8 || 8;
          natural = packed || Math.floor(cur / unit) === Math.floor((cur + m.bitfieldSize - 1) / unit) ? cur : Math.ceil(cur / unit) * unit;
        } else {
          const a = this.#memberAlign(m, depth + 1) * 8;
          natural = packed ? Math.ceil(cur / 8) * 8 : Math.ceil(cur / a) * a;
        }
        if (m.bitOffset > natural) pad(m.bitOffset);
      }
      const decl = this.#declare(m.type, m.name, inner, depth + 1);
      lines.push(`${inner}${decl}${m.bitfieldSize ? `: ${m.bitfieldSize}` : ""};\n`);
      if (t.kind === "struct") cur = m.bitOffset + (m.bitfieldSize || this.#size(m.type) * 8);
    }
    if (t.kind === "struct") {
      // trailing padding of over-aligned structs (size beyond the natural rounding)
      const align = packed ? 1 : Math.max(1, ...t.members.map((m) => this.#memberAlign(m, depth + 1)));
      const naturalEnd = Math.ceil(cur / (align * 8)) * align * 8;
      if (t.size * 8 > naturalEnd) pad(t.size * 8);
    }
    return `${head}\n${lines.join("")}${indent}}${packed ? " __attribute__((packed))" : ""}`;
  }
}
