/** `tsbpf prog` against the kernel, compared with bpftool on the same programs. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { Program } from "../../src/program/program.js";
import { describeKernel, hasTool, itKernel, uniqueName } from "../helpers/kernel.js";
import { cli, ROOT } from "./run.js";
import { hasX86Llvm, llvmX86Bytes } from "../asm/x86/llvm-x86.js";

const bpftool = (...args: string[]): unknown => JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" }));

/** JIT images are x86-64 only on an x86-64 machine; llvm is the oracle. */
const itX86 = process.arch === "x64" && hasX86Llvm ? itKernel : it.skip;

describeKernel("tsbpf prog", () => {
  let coll: Collection;
  let pin: string;
  beforeAll(() => {
    hasTool("bpftool", ["version"]);
    coll = Collection.load(CollectionSpec.fromFile(join(ROOT, "bpf/global_data.o")));
    pin = `/sys/fs/bpf/${uniqueName("cliprog")}`;
    coll.programs.count_packets.pin(pin);
  });
  afterAll(() => {
    if (pin) rmSync(pin, { force: true });
    coll?.close();
  });
  const id = () => coll.programs.count_packets.info().id;

  itKernel("show and list give bpftool's fields and values, by id, tag, name and pin", async () => {
    const theirs = bpftool("prog", "show", "id", String(id())) as Record<string, unknown>;
    const ours = JSON.parse((await cli("prog", "show", String(id()), "-j")).out) as Record<string, unknown>;
    const shared = Object.keys(ours).filter((k) => k in theirs);
    expect(shared).toEqual(expect.arrayContaining(["id", "type", "name", "tag", "gpl_compatible", "loaded_at", "uid", "bytes_xlated", "jited", "bytes_jited", "bytes_memlock", "map_ids", "btf_id"]));
    // loaded_at is wall-clock seconds that each run (ours, bpftool's) computes anew from two
    // clocks, so two runs may round to neighbouring seconds; every other field must be equal.
    const loadedAtClose = (a: Record<string, unknown>, b: Record<string, unknown>) => expect(Math.abs(Number(a.loaded_at) - Number(b.loaded_at))).toBeLessThanOrEqual(1);
    loadedAtClose(ours, theirs);
    for (const k of shared.filter((x) => x !== "loaded_at")) expect([k, ours[k]]).toEqual([k, theirs[k]]);
    const sameShow = (other: Record<string, unknown>) => {
      loadedAtClose(other, ours);
      expect({ ...other, loaded_at: 0 }).toEqual({ ...ours, loaded_at: 0 });
    };
    for (const args of [["id", String(id())], ["pinned", pin], [pin]]) sameShow(JSON.parse((await cli("prog", "show", ...args, "-j")).out));
    const byTag = JSON.parse((await cli("prog", "show", "tag", String(ours.tag), "-j")).out) as { id: number }[];
    expect(byTag.map((p) => p.id)).toContain(id());
    const byName = JSON.parse((await cli("prog", "show", "name", "count_packets", "-j")).out) as { id: number }[];
    expect(byName.map((p) => p.id)).toContain(id());
    const listed = (JSON.parse((await cli("prog", "list", "-j")).out) as Record<string, unknown>[]).find((p) => p.id === id());
    expect(listed).toBeDefined();
    sameShow(listed!);
    const text = (await cli("prog", "show", String(id()))).out;
    expect(text.split("\n")[0]).toBe(`${id()}: xdp  name count_packets  tag ${ours.tag}  gpl`);
  });

  itKernel("dump xlated: the instructions bpftool dumps, with the source lines of the program's BTF", async () => {
    const ours = JSON.parse((await cli("prog", "dump", "xlated", String(id()), "-j")).out) as { pc: number; disasm: string; src?: string }[];
    const theirs = bpftool("prog", "dump", "xlated", "id", String(id())) as { disasm: string; src?: string }[];
    expect(ours).toHaveLength(theirs.length);
    // Same source line text at the same instructions.
    const src = (rows: { src?: string }[]) => rows.map((r, i) => [i, r.src]).filter(([, s]) => s);
    expect(src(ours)).toEqual(src(theirs));
    expect(ours.map((r) => r.disasm === "exit")).toEqual(theirs.map((r) => r.disasm.endsWith(" exit")));
    expect(src(ours).length).toBeGreaterThan(3);
    const text = (await cli("prog", "dump", "xlated", String(id()))).out;
    expect(text).toMatch(/^; packets \+= 1; \[global_data\.c:18:\d+\]$/m);
    expect(text).toMatch(/^ +\d+: exit$/m);
    // --file writes the raw instructions: as many bytes as bpftool's bytes_xlated.
    const dir = mkdtempSync(join(tmpdir(), "cliprog-"));
    try {
      expect((await cli("prog", "dump", "xlated", String(id()), "--file", join(dir, "x.bin"))).code).toBe(0);
      expect(readFileSync(join(dir, "x.bin")).length).toBe((bpftool("prog", "show", "id", String(id())) as { bytes_xlated: number }).bytes_xlated);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itKernel("dump jited --hex: the JIT'd bytes grouped by source line, as many as bpftool's bytes_jited", async () => {
    const rows = JSON.parse((await cli("prog", "dump", "jited", String(id()), "--hex", "-j")).out) as { offset: number; length: number; src?: string; bytes: string }[];
    const total = rows.reduce((n, r) => n + r.length, 0);
    expect(total).toBe((bpftool("prog", "show", "id", String(id())) as { bytes_jited: number }).bytes_jited);
    expect(rows.map((r) => r.offset)).toEqual([...rows.map((r) => r.offset)].sort((a, b) => a - b));
    expect(rows.some((r) => r.src?.startsWith("packets += 1;"))).toBe(true);
    const info = coll.programs.count_packets.debugInfo();
    expect(info.lineInfo.length).toBe(coll.programs.count_packets.info().lineInfoCount);
    expect(info.jitedLineAddresses.length).toBe(info.lineInfo.length);
    expect(info.funcInfo.length).toBe(1);
    expect(info.jitedFunctionLengths).toEqual([total]);
  });

  itX86("dump jited: llvm-objdump's lines for the JIT'd code, source lines above them, bpftool's JSON fields", async () => {
    const code = coll.programs.count_packets.debugInfo().jitedCode;
    const theirs = llvmX86Bytes(code);
    const text = (await cli("prog", "dump", "jited", String(id()))).out.split("\n");
    const insns = text.filter((l) => /^ +[0-9a-f]+:      \t/.test(l));
    // Jump and call targets are kernel addresses in ours (the function's ksym + offset) and
    // offsets in llvm's; jumps inside the program name their target as <count_packets+0x..>.
    const plain = (l: string) => l.replace(/\t(j\w+|callq)\t\S+.*$/, "\t$1");
    expect(insns.map(plain)).toEqual(theirs.map(plain));
    for (const [i, l] of insns.entries()) {
      const m = /\tj\w+\t0x[0-9a-f]+ <count_packets\+(0x[0-9a-f]+)>$/.exec(l);
      if (m) expect(theirs[i].endsWith(`\t${m[1]}`)).toBe(true);
    }
    expect(insns.some((l) => / <count_packets\+0x[0-9a-f]+>$/.test(l))).toBe(true);
    const at = text.findIndex((l) => /^; packets \+= 1; \[global_data\.c:18\]$/.test(l));
    expect(at).toBeGreaterThan(0);
    expect(text[at + 1]).toMatch(/^ +[0-9a-f]+:      \tmovabsq\t\$-?0x[0-9a-f]+, %r\w+ +# imm = 0x[0-9A-F]+$/);

    const rows = JSON.parse((await cli("prog", "dump", "jited", String(id()), "--opcodes", "-j")).out) as { pc: string; operation: string; operands: (string | null)[]; src?: string; opcodes: string[] }[];
    expect(rows.map((r) => r.operation)).toEqual(theirs.map((l) => l.split("\t")[1]));
    expect(Buffer.from(rows.flatMap((r) => r.opcodes.map((b) => Number(b))))).toEqual(Buffer.from(code));
    let pc = 0;
    for (const r of rows) {
      expect(r.pc).toBe(`0x${pc.toString(16)}`);
      pc += r.opcodes.length;
    }
    expect(rows.find((r) => r.operation === "leave")?.operands).toEqual([null]);
    expect(rows.find((r) => r.src === "packets += 1;")?.operation).toBe("movabsq");
    expect(rows.find((r) => r.operation === "movq" && r.operands.length === 3)?.operands).toEqual(["0x8", "%rdi", "%rdi"]);
  });

  itKernel("run: the test run's return value and output data, from hex or a file, like bpftool prog run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cliprog-"));
    try {
      const data = join(dir, "in.bin");
      writeFileSync(data, new Uint8Array(64));
      const r = JSON.parse((await cli("prog", "run", String(id()), "--data-in", data, "--repeat", "5", "-j")).out) as { retval: number; duration: number; data_out: string };
      expect(r.retval).toBe(2);
      expect(r.data_out).toBe("00".repeat(64));
      const theirs = bpftool("prog", "run", "id", String(id()), "data_in", data, "repeat", "5") as { retval: number };
      expect(theirs.retval).toBe(r.retval);
      const hex = await cli("prog", "run", pin, "--data", "00 11 22 33 44 55 66 77 88 99 aa bb cc dd");
      expect(hex.out).toMatch(/^Return value: 2, duration: \d+ns\ndata_out: 00112233445566778899aabbccdd\n$/);
      expect((await cli("prog", "run", pin, "--data", "zz")).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itKernel("profile counts the runs made during its window (BPF_ENABLE_STATS)", async () => {
    const pending = cli("prog", "profile", String(id()), "--duration", "1", "-j");
    await new Promise((r) => setTimeout(r, 200));
    coll.programs.count_packets.run({ data: new Uint8Array(64), repeat: 100 });
    const r = JSON.parse((await pending).out) as { id: number; run_cnt: number; run_time_ns: number; avg_ns: number };
    expect(r.id).toBe(id());
    expect(r.run_cnt).toBe(100);
    expect(r.run_time_ns).toBeGreaterThan(0);
    expect(r.avg_ns).toBe(Math.floor(r.run_time_ns / 100));
  });

  itKernel("pin, and errors: one line, exit 1 for a missing program", async () => {
    const p2 = `/sys/fs/bpf/${uniqueName("cliprog2")}`;
    try {
      expect((await cli("prog", "pin", String(id()), p2)).code).toBe(0);
      using opened = Program.open(p2);
      expect(opened.info().id).toBe(id());
    } finally {
      rmSync(p2, { force: true });
    }
    const missing = await cli("prog", "show", "2147483000");
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^tsbpf prog show: prog id 2147483000: .*ENOENT/);
    const none = await cli("prog", "show", "name", uniqueName("nosuch"));
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no program has name/);
  });

  // prog tracelog is tested in test/trace/tracelog.test.ts: trace_pipe gives each line to one
  // reader, so every test that reads it lives in that one file and runs in sequence.
});
