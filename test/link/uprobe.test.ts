import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { call, exit, instructions, ldMapFd, ldx, mov64, add64, stx, st } from "../../src/asm/builder.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program, type StatsHandle } from "../../src/program/program.js";
import type { AttachTypeName } from "../../src/spec/program-type.js";
import { attachUprobe, resolveUprobeTarget } from "../../src/link/uprobe.js";
import { attachUprobeMulti } from "../../src/link/uprobe-multi.js";
import { loadBinary, symbolFileOffset, userSymbols, vaddrToFileOffset } from "../../src/link/elf-symbols.js";
import { describeKernel, it, itKernel } from "./kit.js";
import { ProbeBinary } from "./probe-binary.js";
import { runs } from "./progs.js";

let stats: StatsHandle;
let bin: ProbeBinary;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
  bin = new ProbeBinary();
});
afterAll(() => {
  stats?.close();
  bin?.remove();
});

/** pt_regs offsets (x86_64). */
const RDI = 112;
const RAX = 80;

/** A kprobe-type program storing one register into `out[0]` (array map, u64 value). */
function storeRegister(map: BpfMap, regOffset: number, name: string, expectedAttachType?: AttachTypeName): Program {
  return Program.load(
    {
      name,
      type: "kprobe",
      license: "GPL",
      expectedAttachType,
      instructions: instructions(
        ldx("u64", "r6", "r1", regOffset),
        st("u32", "r10", -4, 0),
        stx("u64", "r10", "r6", -16),
        ldMapFd("r1", "out"),
        mov64("r2", "r10"),
        add64("r2", -4),
        mov64("r3", "r10"),
        add64("r3", -16),
        mov64("r4", 0),
        call("map_update_elem"),
        mov64("r0", 0),
        exit(),
      ),
    },
    { maps: { out: map } },
  );
}

function outMap(): BpfMap {
  return BpfMap.create({ name: "up_out", type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
}
function read(map: BpfMap): bigint {
  const v = map.get(new Uint8Array(4))!;
  return new DataView(v.buffer, v.byteOffset, 8).getBigInt64(0, true);
}

describe("uprobe target resolution (no kernel needed)", () => {
  it("turns a symbol into its file offset through the PT_LOAD segment", () => {
    const elf = loadBinary(bin.path);
    const sym = userSymbols(elf).find((s) => s.name === "tsbpf_add")!;
    expect(sym).toBeDefined();
    // Cross-check with nm: the executable's text segment maps vaddr to the same file offset.
    const nm = execFileSync("nm", [bin.path], { encoding: "utf8" });
    const addr = BigInt("0x" + /^([0-9a-f]+) T tsbpf_add$/m.exec(nm)![1]);
    expect(sym.value).toBe(addr);
    const off = symbolFileOffset(elf, "tsbpf_add", "test");
    const objdump = execFileSync("objdump", ["-F", "-d", "--disassemble=tsbpf_add", bin.path], { encoding: "utf8" });
    expect(objdump).toContain(`(File Offset: 0x${off.toString(16)})`);
    expect(resolveUprobeTarget(bin.path, "tsbpf_add", 4)).toEqual({ path: bin.path, offset: off + 4 });
    expect(() => symbolFileOffset(elf, "no_such_fn", "test")).toThrow(/no symbol "no_such_fn"/);
  });
  it("finds functions of a stripped shared library through .dynsym", () => {
    const { path, offset } = resolveUprobeTarget("libc.so.6", "malloc", undefined);
    expect(path).toMatch(/libc\.so\.6$/);
    expect(offset).toBeGreaterThan(0);
  });
});

describeKernel("uprobe / uretprobe", () => {
  itKernel("reads the argument on entry and the return value on exit, then detaches", () => {
    using m1 = outMap();
    using m2 = outMap();
    using entry = storeRegister(m1, RDI, "up_arg");
    using ret = storeRegister(m2, RAX, "up_ret");
    const l1 = attachUprobe(entry, { path: bin.path, symbol: "tsbpf_add" });
    const l2 = attachUprobe(ret, { path: bin.path, symbol: "tsbpf_add", retprobe: true });
    try {
      expect(l1.info()).toMatchObject({ type: "perf_event", symbol: "tsbpf_add", retprobe: false });
      const before = runs(entry);
      bin.run(9);
      expect(runs(entry) - before).toBe(9n);
      expect(read(m1)).toBe(8n); // last call: tsbpf_add(8, 7)
      expect(read(m2)).toBe(15n); // its return value
    } finally {
      l1.close();
      l2.close();
    }
    const after = runs(entry);
    bin.run(3);
    expect(runs(entry)).toBe(after);
  });

  itKernel("a pid filter limits a uprobe to one process", () => {
    using m = outMap();
    using prog = storeRegister(m, RDI, "up_pid");
    {
      using link = attachUprobe(prog, { path: bin.path, symbol: "tsbpf_add", pid: process.pid }); // not the binary's process
      const before = runs(prog);
      bin.run(5);
      expect(runs(prog)).toBe(before);
      expect(link.info()).toMatchObject({ pid: process.pid });
    }
    // The tracefs-free PMU path with an explicit offset works the same as a symbol.
    const off = symbolFileOffset(loadBinary(bin.path), "tsbpf_add", "t");
    using link = attachUprobe(prog, { path: bin.path, offset: off, method: "ioctl" });
    expect(link.type).toBe("perf_event_ioctl");
    const before = runs(prog);
    bin.run(5);
    expect(runs(prog) - before).toBe(5n);
  });

  itKernel("increments a USDT semaphore through refCtrOffset while attached", () => {
    // tsbpf:tick_sem only fires while its semaphore is non-zero: the kernel raises it for us.
    const elf = loadBinary(bin.path);
    const probes = execFileSync("readelf", ["-n", bin.path], { encoding: "utf8" });
    const m = /Name: tick_sem\s+Location: 0x([0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: 0x([0-9a-f]+)/.exec(probes)!;
    const pc = vaddrToFileOffset(elf, BigInt("0x" + m[1]), "t");
    const sem = vaddrToFileOffset(elf, BigInt("0x" + m[2]), "t");
    using map = outMap();
    using prog = storeRegister(map, RAX, "usdt_sem"); // arg "-4@%eax"
    {
      using link = attachUprobe(prog, { path: bin.path, offset: pc, refCtrOffset: sem });
      const before = runs(prog);
      bin.run(4);
      expect(runs(prog) - before).toBe(4n);
      expect(Number(read(map) & 0xffffffffn)).toBe(1003);
      expect(link.closed).toBe(false);
    }
    // Without the ref counter the guarded probe never fires.
    using link = attachUprobe(prog, { path: bin.path, offset: pc });
    const before = runs(prog);
    bin.run(4);
    expect(runs(prog)).toBe(before);
  });
});

describeKernel("uprobe session", () => {
  itKernel("runs on entry and, as the entry run returned 0, on return", () => {
    using prog = Program.load({ name: "ups", type: "kprobe", license: "GPL", expectedAttachType: "trace_uprobe_session", instructions: instructions(mov64("r0", 0), exit()) });
    using link = attachUprobeMulti(prog, { path: bin.path, symbols: ["tsbpf_add"], session: true });
    const before = runs(prog);
    bin.run(6);
    expect(runs(prog) - before).toBe(12n);
    expect(link.info()).toMatchObject({ type: "uprobe_multi", count: 1 });
    expect(() => attachUprobeMulti(prog, { path: bin.path, symbols: ["tsbpf_add"], session: true, retprobe: true })).toThrow(TypeError);
  });
});

describeKernel("uprobe_multi", () => {
  itKernel("probes two functions with one link, with cookies and a pid filter", () => {
    using map = outMap();
    using prog = storeRegister(map, RDI, "upm_arg", "trace_uprobe_multi");
    const link = attachUprobeMulti(prog, { path: bin.path, symbols: ["tsbpf_add", "tsbpf_mul"], cookies: [1n, 2n] });
    try {
      expect(link.info()).toMatchObject({ type: "uprobe_multi", path: bin.path, count: 2 });
      const before = runs(prog);
      bin.run(5);
      expect(runs(prog) - before).toBe(10n);
      expect(read(map)).toBe(4n);
    } finally {
      link.close();
    }
    // A pid filter for a process that is not the binary: nothing runs.
    const filtered = attachUprobeMulti(prog, { path: bin.path, symbols: ["tsbpf_add"], pid: process.pid });
    try {
      const before = runs(prog);
      bin.run(5);
      expect(runs(prog)).toBe(before);
    } finally {
      filtered.close();
    }
    const after = runs(prog);
    bin.run(2);
    expect(runs(prog)).toBe(after);
  });
});
