/**
 * `tsbpf gen`: typed TypeScript bindings for a BPF object (src/gen/), as bpf2go and
 * `bpftool gen skeleton` write them for Go and C. With `--cc` it first compiles a C file for
 * the BPF target; with `--check` it writes nothing and exits 1 when the committed output is stale.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { CollectionSpec } from "../elf/collection-spec.js";
import { TsbpfError } from "../errors.js";
import { generateBindings, type GenerateOptions } from "../gen/generate.js";
import type { Command } from "./main.js";

const USAGE = [
  "gen <object.o> [--out FILE.ts] [--name Name] [--type NAME]... [--embed | --sidecar] [--import MODULE] [--check]",
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
}

function parse(argv: string[]): Args | string {
  const a: Args = { types: [], sidecar: false, check: false, cflags: [] };
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
      else if (arg.startsWith("-")) return `unknown option ${arg}`;
      else if (a.input === undefined) a.input = arg;
      else return `one input only (got ${a.input} and ${arg})`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (a.input === undefined) return "an object (or with --cc, a C file) is required";
  if (a.cflags.length && !a.cc) return "cflags after -- need --cc";
  return a;
}

/** Compile `src` for the BPF target as a BPF build needs (BTF, -O2, the target arch), reproducibly. */
export function compileBpf(cc: string, src: string, out: string, cflags: readonly string[]): void {
  const multiarch = "/usr/include/x86_64-linux-gnu";
  const args = [
    "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
    ...(existsSync(multiarch) ? ["-I", multiarch] : []),
    `-fdebug-prefix-map=${process.cwd()}=.`, "-fdebug-compilation-dir=.",
    ...cflags, "-c", src, "-o", out,
  ];
  try {
    execFileSync(cc, args, { stdio: ["ignore", "inherit", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; code?: string; message: string };
    const why = err.code === "ENOENT" ? `${cc} is not installed (apt-get install clang-19, or --cc another clang)` : (err.stderr?.toString().trim() || err.message);
    throw new TsbpfError(`compile ${src} with ${cc}: ${why}`);
  }
}

export const command: Command = {
  usage: USAGE,
  summary: "write typed TypeScript bindings for a BPF object (or compile C with --cc first); --check fails on stale output",
  run(argv: string[]): number {
    const a = parse(argv);
    if (typeof a === "string") {
      console.error(`tsbpf gen: ${a}\nusage: tsbpf ${USAGE}`);
      return 2;
    }
    let objectPath = a.input!;
    let scratch: string | undefined;
    try {
      if (a.cc) {
        const obj = objectPath.replace(/\.c$/, "") + ".o";
        // --check compiles aside, so a stale committed object is not overwritten
        const target = a.check ? join((scratch = mkdtempSync(join(tmpdir(), "tsbpf-gen-"))), basename(obj)) : obj;
        compileBpf(a.cc, objectPath, target, a.cflags);
        objectPath = obj;
        return emit(a, obj, readFileSync(target));
      }
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(objectPath);
      } catch (e) {
        console.error(`tsbpf gen: cannot read ${objectPath}: ${(e as { code?: string }).code ?? (e as Error).message}`);
        return 1;
      }
      return emit(a, objectPath, bytes);
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }
  },
};

function emit(a: Args, objectPath: string, bytes: Uint8Array): number {
  const spec = CollectionSpec.fromBytes(bytes, { name: basename(objectPath).split(".")[0] || "obj" }); // as fromFile names it
  const out = a.out ?? objectPath.replace(/\.o$/, "") + ".ts";
  const sidecar = out.replace(/\.[cm]?ts$/, "") + ".o";
  const flags = [
    ...(a.name ? ["--name", a.name] : []),
    ...a.types.flatMap((t) => ["--type", t]),
    ...(a.sidecar ? ["--sidecar"] : []),
    ...(a.importFrom ? ["--import", a.importFrom] : []),
  ];
  const options: GenerateOptions = {
    objectPath,
    types: a.types,
    objectSource: a.sidecar ? { kind: "sidecar", path: `./${basename(sidecar)}` } : { kind: "embed" },
    commandLine: `tsbpf gen ${flags.length ? `${flags.join(" ")} ` : ""}${objectPath}`,
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
    if (a.sidecar && (!existsSync(sidecar) || !Buffer.from(readFileSync(sidecar)).equals(Buffer.from(bytes)))) stale.push(sidecar);
    if (stale.length) {
      console.error(`tsbpf gen --check: ${stale.join(" and ")} ${stale.length > 1 ? "are" : "is"} stale: run ${options.commandLine}${a.out ? ` --out ${a.out}` : ""}`);
      return 1;
    }
    return 0;
  }
  writeFileSync(out, text);
  if (a.sidecar) writeFileSync(sidecar, bytes);
  console.error(`tsbpf gen: wrote ${relative(process.cwd(), out) || out}${a.sidecar ? ` and ${relative(dirname(out), sidecar) ? sidecar : sidecar}` : ""}`);
  return 0;
}
