/**
 * `tsbpf btf`: the kernel's BTF objects (`list`, `show`) and BTF as C or bpftool's raw text
 * (`dump`), from a BPF object's `.BTF`, a raw BTF file, `/sys/kernel/btf/*` or a loaded id.
 *
 * `dump` writes C (a `vmlinux.h` with kfunc prototypes, like `bpftool btf dump … format c`)
 * when a header is asked for: `--format c`, `--output X.h`, or stdout redirected to a `.h`
 * file; otherwise bpftool's raw text.
 */
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { dumpC } from "../btf/c-dump.js";
import { kernelBtf, KERNEL_BTF_DIR } from "../features/kernel-btf.js";
import { dumpRaw, dumpRawJson } from "../btf/raw-dump.js";
import { parseBtf, type BtfSpec } from "../btf/spec.js";
import { parseElf } from "../elf/elf-file.js";
import { ParseError } from "../errors.js";
import { BpfMap } from "../map/bpf-map.js";
import { Btf, type BtfInfo } from "../map/btf.js";
import { Program } from "../program/program.js";
import { arg, noMoreArgs, str, table, toJson, UsageError, type Command, type Context } from "./command.js";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/**
 * Read BTF from a file: an ELF object's `.BTF` section, module BTF under /sys/kernel/btf (split
 * on vmlinux), or a raw BTF blob (split on `basePath` when given). Throws ParseError when the file has no BTF or it is malformed.
 */
export function readBtfFile(path: string, basePath?: string): BtfSpec {
  if (path === `${KERNEL_BTF_DIR}/vmlinux` && !basePath) return kernelBtf();
  const bytes = readFileSync(path);
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const elf = parseElf(bytes);
    const sec = elf.sectionByName(".BTF");
    if (!sec) throw new ParseError(`${path}: the object has no .BTF section (compile with clang -g)`);
    return parseBtf(sec.data);
  }
  const base = basePath ? readBtfFile(basePath) : path.startsWith(`${KERNEL_BTF_DIR}/`) ? kernelBtf() : undefined;
  return parseBtf(bytes, { base, lazy: true });
}

/** bpftool's JSON of `btf show`: id, size, kernel and name (when it has one). */
/** Which programs and maps use each BTF object (bpftool's prog_ids/map_ids): the kernel keeps only the other direction. */
export interface BtfUsers {
  programs: Map<number, number[]>;
  maps: Map<number, number[]>;
}

export function btfUsers(): BtfUsers {
  const group = (list: { id: number; btfId: number }[]): Map<number, number[]> => {
    const by = new Map<number, number[]>();
    for (const o of list) if (o.btfId) by.set(o.btfId, [...(by.get(o.btfId) ?? []), o.id]);
    return by;
  };
  return { programs: group(Program.list()), maps: group(BpfMap.list()) };
}

/** `bpftool btf show -j` fields of a BTF object, in bpftool's order. */
export function btfInfoJson(i: BtfInfo, users: BtfUsers): Record<string, unknown> {
  return {
    id: i.id,
    size: i.size,
    prog_ids: users.programs.get(i.id) ?? [],
    map_ids: users.maps.get(i.id) ?? [],
    kernel: i.kernelBtf,
    ...(i.name ? { name: i.name } : {}),
  };
}

function btfLine(i: BtfInfo): string {
  return `${i.id}: name ${i.name || "[anon]"}  size ${i.size}B${i.kernelBtf ? "  kernel" : ""}`;
}

/** Where stdout goes, when it is a file (to default to C for `> vmlinux.h`). */
function stdoutFile(): string | undefined {
  try {
    return readlinkSync("/proc/self/fd/1");
  } catch {
    return undefined;
  }
}

/** Open BTF by the spec the user gave: `id N`, a number, or a file. */
function btfSource(ctx: Context): { spec: BtfSpec; label: string } {
  const a = arg(ctx, 0, "<file|id>");
  if (a === "id" || a === "file") {
    noMoreArgs(ctx, 2);
    const v = arg(ctx, 1, a === "id" ? "<id>" : "<file>");
    return a === "id" ? fromId(v) : { spec: readBtfFile(v, str(ctx, "base")), label: v };
  }
  noMoreArgs(ctx, 1);
  if (/^\d+$/.test(a)) return fromId(a);
  return { spec: readBtfFile(a, str(ctx, "base")), label: a };
}

function fromId(v: string): { spec: BtfSpec; label: string } {
  if (!/^\d+$/.test(v)) throw new UsageError(`"${v}" is not a BTF id`);
  using b = Btf.fromId(Number(v));
  const info = b.info();
  // Module BTF is split on vmlinux.
  const spec = b.spec(info.kernelBtf && info.name !== "vmlinux" ? kernelBtf() : undefined);
  return { spec, label: info.name || `btf${info.id}` };
}

const list: Command = {
  summary: "list the BTF objects loaded in the kernel",
  run(ctx) {
    noMoreArgs(ctx, 0);
    const all = Btf.list();
    if (ctx.json) {
      const users = btfUsers();
      ctx.printJson(all.map((i) => btfInfoJson(i, users)));
    }
    else for (const i of all) ctx.out(btfLine(i));
  },
};

const show: Command = {
  summary: "show one BTF object by id (all of them without an id)",
  args: "[<id>]",
  run(ctx) {
    noMoreArgs(ctx, 1);
    if (ctx.args.length === 0) return list.run!(ctx);
    const id = ctx.args[0];
    if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a BTF id`);
    using b = Btf.fromId(Number(id));
    const i = b.info();
    if (ctx.json) ctx.printJson(btfInfoJson(i, btfUsers()));
    else ctx.out(btfLine(i));
  },
};

const dump: Command = {
  summary: "print BTF as C (vmlinux.h) or as bpftool's raw text",
  args: "<file> | file <file> | id <id>",
  description: [
    "The BTF of a BPF object (its .BTF section), a raw BTF file (split BTF on --base), the",
    "kernel's (/sys/kernel/btf/vmlinux; module BTF on top of it) or a loaded BTF object by id.",
    "C is the default when a header is asked for: --output X.h, or stdout redirected to a .h",
    "file; raw text otherwise. The C header declares the kernel's kfuncs (extern … __weak __ksym)",
    "as bpftool does, unless BPF_NO_KFUNC_PROTOTYPES is defined. --json prints the raw format as",
    "bpftool -j does ({\"types\": [{\"id\", \"kind\", \"name\", …}]}).",
  ].join("\n"),
  options: {
    format: { type: "string", value: "c|raw", description: "output format (default: c for a .h output, else raw)" },
    base: { type: "string", value: "FILE", description: "base BTF for split BTF read from a file" },
    output: { type: "string", short: "o", value: "FILE", description: "write to FILE instead of stdout" },
  },
  examples: ["tsbpf btf dump /sys/kernel/btf/vmlinux > vmlinux.h", "tsbpf btf dump bpf/global_data.o --format raw"],
  run(ctx) {
    // bpftool's spelling: `... format c` at the end.
    const args = [...ctx.args];
    let format = str(ctx, "format");
    const at = args.indexOf("format");
    if (at >= 0 && at === args.length - 2) {
      format = args[at + 1];
      args.splice(at, 2);
    }
    const output = str(ctx, "output");
    const target = output ?? stdoutFile();
    // --json is bpftool's JSON of the raw format; C has none (bpftool refuses it too).
    format ??= target?.endsWith(".h") && !ctx.json ? "c" : "raw";
    if (format !== "c" && format !== "raw") throw new UsageError(`--format is c or raw, not "${format}"`);
    if (format === "c" && ctx.json) throw new UsageError("--json prints the raw format; C has no JSON form");
    const { spec, label } = btfSource({ ...ctx, args });
    const name = basename(label);
    const guard = format === "c" && name !== "vmlinux" ? `__${name.replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}_H__` : undefined;
    const text = format === "c" ? dumpC(spec, { ...(guard ? { guard } : {}), kfuncs: true }) : ctx.json ? `${toJson(dumpRawJson(spec), ctx.pretty)}\n` : dumpRaw(spec);
    if (output) writeFileSync(output, text);
    else ctx.write(text);
  },
};

/** The `tsbpf btf` command. */
export const command: Command = {
  summary: "list, show and dump BTF objects (vmlinux.h with --format c)",
  subcommands: { list, show, dump },
};
