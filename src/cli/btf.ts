/**
 * `tsbpf btf dump <file> [--format c|raw] [--base FILE]`: BTF of a BPF object (its `.BTF`
 * section), a raw BTF file (split BTF on `--base`), or the kernel's (`/sys/kernel/btf/vmlinux`,
 * module BTF on top of it) as a C header (`vmlinux.h`, like `bpftool btf dump file … format c`)
 * or as bpftool's raw text.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { dumpC } from "../btf/c-dump.js";
import { kernelBtf, KERNEL_BTF_DIR } from "../features/kernel-btf.js";
import { dumpRaw } from "../btf/raw-dump.js";
import { parseBtf, type BtfSpec } from "../btf/spec.js";
import { parseElf } from "../elf/elf-file.js";
import { ParseError } from "../errors.js";
import type { Command } from "./command.js";

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

const USAGE = "btf dump <file> [--format c|raw] [--base <vmlinux BTF file>]";

export const command: Command = {
  usage: USAGE,
  summary: "print BTF (of an object, a BTF file or the kernel) as C (vmlinux.h) or raw text",
  run(args) {
    const [sub, ...rest] = args;
    if (sub !== "dump") {
      console.error(`usage: tsbpf ${USAGE}`);
      return 2;
    }
    let file: string | undefined;
    let format = "raw";
    let basePath: string | undefined;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i];
      if (a === "--format") format = rest[++i] ?? "";
      else if (a.startsWith("--format=")) format = a.slice("--format=".length);
      else if (a === "format") format = rest[++i] ?? ""; // bpftool's spelling: `format c`
      else if (a === "--base") basePath = rest[++i];
      else if (a.startsWith("-")) {
        console.error(`tsbpf btf: unknown option ${a}\nusage: tsbpf ${USAGE}`);
        return 2;
      } else if (file === undefined) file = a;
      else {
        console.error(`tsbpf btf: unexpected argument ${a}\nusage: tsbpf ${USAGE}`);
        return 2;
      }
    }
    if (!file || (format !== "c" && format !== "raw")) {
      console.error(`usage: tsbpf ${USAGE}`);
      return 2;
    }
    if (rest.includes("--base") && !basePath) {
      console.error(`tsbpf btf: --base needs a file\nusage: tsbpf ${USAGE}`);
      return 2;
    }
    const spec = readBtfFile(file, basePath);
    const guard = format === "c" && basename(file) !== "vmlinux" ? `__${basename(file).replace(/[^A-Za-z0-9]/g, "_").toUpperCase()}_H__` : undefined;
    process.stdout.write(format === "c" ? dumpC(spec, guard ? { guard } : undefined) : dumpRaw(spec));
    return 0;
  },
};
