/**
 * `tsbpf gen`: typed TypeScript bindings for a BPF object (src/gen/), as bpf2go and
 * `bpftool gen skeleton` write them for Go and C. With `--cc` it first compiles a C file for
 * the BPF target; with `--check` it writes nothing and exits 1 when the committed output is stale.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { CollectionSpec } from "../elf/collection-spec.js";
import { TsbpfError } from "../errors.js";
import { generateBindings, TYPE_ANCHOR_PREFIX, type GenerateOptions } from "../gen/generate.js";
import type { LegacyCommand } from "./command.js";

const USAGE = [
  "gen <object.o> [--out FILE.ts] [--name Name] [--type NAME]... [--embed | --sidecar] [--import MODULE] [--check] [--json | --pretty]",
  "       tsbpf gen --cc clang-19 <prog.bpf.c> [options above] [-- <cflags>]",
].join("\n");

interface Args {
  input?: string;
  out?: string;
  name?: string;
  types: string[];
  sidecar: boolean;
  importFrom?: string;
  check: boolean;
  cc?: string;
  cflags: string[];
  /** JSON on stdout (what was written, or what is stale) instead of the stderr line; 2-space indent when pretty. */
  json: false | "plain" | "pretty";
}

function parse(argv: string[]): Args | string {
  const a: Args = { types: [], sidecar: false, check: false, cflags: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${arg} needs a value`);
      return v;
    };
    try {
      if (arg === "--") {
        a.cflags = argv.slice(i + 1);
        break;
      } else if (arg === "--out" || arg === "-o") a.out = value();
      else if (arg === "--name") a.name = value();
      else if (arg === "--type") a.types.push(value());
      else if (arg === "--embed") a.sidecar = false;
      else if (arg === "--sidecar") a.sidecar = true;
      else if (arg === "--import") a.importFrom = value();
      else if (arg === "--check") a.check = true;
      else if (arg === "--cc") a.cc = value();
      else if (arg === "--json" || arg === "-j") a.json = a.json || "plain";
      else if (arg === "--pretty" || arg === "-p") a.json = "pretty";
      else if (arg.startsWith("-")) return `unknown option ${arg}`;
      else if (a.input === undefined) a.input = arg;
      else return `one input only (got ${a.input} and ${arg})`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (a.input === undefined) return "an object (or with --cc, a C file) is required";
  if (a.cflags.length && !a.cc) return "cflags after -- need --cc";
  if (a.json && a.out === "-") return "--json with --out -: the module itself goes to stdout";
  return a;
}

/** Flags every BPF build needs (BTF, -O2, the target arch), and reproducible debug paths. */
function baseFlags(extraMaps: readonly string[]): string[] {
  const multiarch = "/usr/include/x86_64-linux-gnu";
  return [
    "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
    ...(existsSync(multiarch) ? ["-I", multiarch] : []),
    ...extraMaps.map((d) => `-fdebug-prefix-map=${d}=.`),
    `-fdebug-prefix-map=${process.cwd()}=.`, "-fdebug-compilation-dir=.",
  ];
}

function runCc(cc: string, args: string[], what: string): void {
  try {
    execFileSync(cc, args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; code?: string; message: string };
    const why = err.code === "ENOENT" ? `${cc} is not installed (apt-get install clang-19, or --cc another clang)` : (err.stderr?.toString().trim() || err.message);
    throw new TsbpfError(`${what} with ${cc}: ${why}`);
  }
}


/**
 * Compile `src` for the BPF target. clang writes BTF only for types that globals and function
 * signatures use, so for each of `types` (an event struct the program only reserves in a ring
 * buffer…) one unused pointer variable named `__tsbpf_type_<name>` is added to the build, not
 * to the C: the type reaches BTF and the generated bindings, no dummy variable in the source.
 */
export function compileBpf(cc: string, src: string, out: string, cflags: readonly string[], types: readonly string[] = []): void {
  if (types.length === 0) {
    runCc(cc, [...baseFlags([]), ...cflags, "-c", src, "-o", out], `compile ${src}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-cc-"));
  try {
    const abs = resolve(src);
    const flags = [...baseFlags([dir]), "-I", dirname(abs), ...cflags];
    const anchors: string[] = [];
    let lastError = "";
    for (const t of types) {
      const named = /^(struct|union|enum)\s+/.test(t.trim()) ? [t.trim()] : [`struct ${t}`, `union ${t}`, `enum ${t}`, t];
      const ident = t.trim().replace(/^(struct|union|enum)\s+/, "").replace(/\W/g, "_");
      const decl = (c: string) => `${c} *${TYPE_ANCHOR_PREFIX}${ident} __attribute__((used));`;
      // which kind the name is: the first declaration that compiles
      const found = named.find((c) => {
        writeFileSync(join(dir, "probe.c"), `#include ${JSON.stringify(basename(abs))}\n${decl(c)}\n`);
        try {
          execFileSync(cc, [...flags, "-fsyntax-only", join(dir, "probe.c")], { stdio: "pipe" });
          return true;
        } catch (e) {
          lastError = String((e as { stderr?: Buffer }).stderr ?? "").trim().split("\n")[0] ?? "";
          return false;
        }
      });
      if (!found) throw new TsbpfError(`--type ${t}: ${src} declares no struct, union, enum or typedef of that name (${cc}: ${lastError})`);
      anchors.push(decl(found));
    }
    // The unit names the source by its base name (found through -I): DWARF keeps an MD5 of
    // every file, so an absolute path would make the object differ between checkouts.
    const unit = join(dir, `with-types-${basename(abs)}`);
    writeFileSync(unit, `#include ${JSON.stringify(basename(abs))}\n${anchors.join("\n")}\n`);
    runCc(cc, [...flags, "-c", unit, "-o", out], `compile ${src}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const command: LegacyCommand = {
  usage: USAGE,
  summary: "write typed TypeScript bindings for a BPF object (or compile C with --cc first); --check fails on stale output",
  description: "Arguments after `--` are clang flags (with --cc).",
  options: {
    out: { type: "string", short: "o", value: "FILE.ts", description: "write the bindings here (default: beside the object)" },
    name: { type: "string", value: "Name", description: "the name of the generated class" },
    type: { type: "string", multiple: true, value: "NAME", description: "also generate this BTF type (struct, union, enum, typedef)" },
    embed: { type: "boolean", description: "embed the object's bytes in the bindings (default)" },
    sidecar: { type: "boolean", description: "read the object from a file beside the bindings instead" },
    import: { type: "string", value: "MODULE", description: "import tsbpf from MODULE" },
    check: { type: "boolean", description: "write nothing; exit 1 when the committed output is stale" },
    json: { type: "boolean", short: "j", description: 'print {"written":[files]} (with --check: {"stale":[files],"rerun"?}) on stdout' },
    pretty: { type: "boolean", short: "p", description: "--json, indented" },
    cc: { type: "string", value: "CLANG", description: "compile the C file with this clang first (e.g. clang-19)" },
  },
  run(argv: string[]): number {
    const a = parse(argv);
    if (typeof a === "string") {
      console.error(`tsbpf gen: ${a}\nusage: tsbpf ${USAGE}`);
      return 2;
    }
    const input = a.input!;
    if (a.cc) {
      // As bpf2go: the object is written beside the generated module (prog.bpf.c → prog.bpf.ts + prog.bpf.o).
      const out = a.out ?? input.replace(/\.c$/, "") + ".ts";
      const obj = out === "-" ? input.replace(/\.c$/, "") + ".o" : out.replace(/\.[cm]?ts$/, "") + ".o";
      // --check compiles aside, so a stale committed object is not overwritten
      const scratch = a.check ? mkdtempSync(join(tmpdir(), "tsbpf-gen-")) : undefined;
      try {
        const target = scratch ? join(scratch, basename(obj)) : obj;
        compileBpf(a.cc, input, target, a.cflags, a.types);
        return emit(a, out, input, obj, readFileSync(target), true);
      } finally {
        if (scratch) rmSync(scratch, { recursive: true, force: true });
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(input);
    } catch (e) {
      console.error(`tsbpf gen: cannot read ${input}: ${(e as { code?: string }).code ?? (e as Error).message}`);
      return 1;
    }
    return emit(a, a.out ?? input.replace(/\.o$/, "") + ".ts", input, input, bytes, false);
  },
};

/**
 * Generate and write (or check) the module `out`. `source` is what the header names (the
 * object, or the C file with --cc); `objectFile` the object the bytes are (written there with --cc).
 */
function emit(a: Args, out: string, source: string, objectFile: string, bytes: Uint8Array, compiled: boolean): number {
  const spec = CollectionSpec.fromBytes(bytes, { name: basename(objectFile).split(".")[0] || "obj" }); // as fromFile names it
  // the object a sidecar module reads: the compiled one beside it, else a copy beside it
  const sidecar = compiled ? objectFile : out.replace(/\.[cm]?ts$/, "") + ".o";
  const flags = [
    ...(a.cc ? ["--cc", a.cc] : []),
    ...(a.name ? ["--name", a.name] : []),
    ...a.types.flatMap((t) => ["--type", t]),
    ...(a.sidecar ? ["--sidecar"] : []),
    ...(a.importFrom ? ["--import", a.importFrom] : []),
  ];
  const options: GenerateOptions = {
    objectPath: source,
    objectFile: basename(objectFile),
    types: a.types,
    objectSource: a.sidecar ? { kind: "sidecar", path: `./${basename(sidecar)}` } : { kind: "embed" },
    commandLine: `tsbpf gen ${flags.length ? `${flags.join(" ")} ` : ""}${source}${a.cflags.length ? ` -- ${a.cflags.join(" ")}` : ""}`,
  };
  if (a.name) options.name = a.name;
  if (a.importFrom) options.importFrom = a.importFrom;
  let text: string;
  try {
    text = generateBindings(spec, bytes, options);
  } catch (e) {
    if (e instanceof TypeError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
  if (out === "-") {
    process.stdout.write(text);
    return 0;
  }
  if (a.check) {
    const stale: string[] = [];
    if (!existsSync(out) || readFileSync(out, "utf8") !== text) stale.push(out);
    if ((a.sidecar || compiled) && (!existsSync(sidecar) || !Buffer.from(readFileSync(sidecar)).equals(Buffer.from(bytes)))) stale.push(sidecar);
    if (stale.length) {
      // The command that rewrites it: --out (when the user gave one) before the cflags, since
      // everything after `--` goes to clang.
      const rerun = `tsbpf gen ${[...flags, source, ...(a.out ? ["--out", a.out] : [])].join(" ")}${a.cflags.length ? ` -- ${a.cflags.join(" ")}` : ""}`;
      if (a.json) printJson(a, { stale, rerun });
      else console.error(`tsbpf gen --check: ${stale.join(" and ")} ${stale.length > 1 ? "are" : "is"} stale: run ${rerun}`);
      return 1;
    }
    if (a.json) printJson(a, { stale });
    return 0;
  }
  writeFileSync(out, text);
  if (a.sidecar && !compiled) writeFileSync(sidecar, bytes);
  const written = a.sidecar || compiled ? [out, sidecar] : [out];
  if (a.json) printJson(a, { written });
  else console.error(`tsbpf gen: wrote ${written.join(" and ")}`);
  return 0;
}

function printJson(a: Args, value: object): void {
  process.stdout.write(`${JSON.stringify(value, null, a.json === "pretty" ? 2 : undefined)}\n`);
}
