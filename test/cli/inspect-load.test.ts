import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";

const ROOT = join(__dirname, "../..");
const obj = (n: string) => join(ROOT, "bpf", `${n}.o`);

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const noStack = (s: string) => expect(s).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);

const cleanup: string[] = [];
afterEach(() => {
  for (const p of cleanup.splice(0)) rmSync(p, { recursive: true, force: true });
});

describe("tsbpf inspect (no kernel needed)", () => {
  it("lists programs, maps with BTF type names, variables and the BTF summary", () => {
    const r = tsbpf("inspect", obj("global_data"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {2}count_packets +xdp +xdp +xdp +\d+ +yes$/m);
    expect(r.out).toMatch(/^ {2}\.rodata +array +4 +16 \(datasec \.rodata\) +1 +0x480 +none$/m);
    expect(r.out).toMatch(/^ {2}multiplier +\.rodata +0 +4 +__u32 +1$/m);
    expect(r.out).toMatch(/^BTF: \d+ types, 1 func info, \d+ line info, 0 CO-RE relocations$/m);
  });

  it("--json gives the same facts as data", () => {
    const r = tsbpf("inspect", obj("xdp_tail"), "--json");
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(d.programs.map((p: { name: string }) => p.name).sort()).toEqual(["xdp_entry", "xdp_stage1", "xdp_stage2"]);
    const jt = d.maps.find((m: { name: string }) => m.name === "jump_table");
    expect(jt).toMatchObject({ type: "prog_array", keySize: 4, valueSize: 4, maxEntries: 4, values: { 1: "program xdp_stage1", 2: "program xdp_stage2" } });
    const k = JSON.parse(tsbpf("inspect", obj("kconfig"), "--json").out);
    expect(k.externs.map((e: { name: string; weak: boolean }) => [e.name, e.weak])).toContainEqual(["CONFIG_TSBPF_DOES_NOT_EXIST", true]);
  });

  it("says a struct_ops map's value size is set at load (it is the kernel's struct)", () => {
    const r = tsbpf("inspect", obj("struct_ops"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tsbpf_cc +struct_ops +4 +at load \(struct tcp_congestion_ops\)/);
  });

  it("a malformed object is one line on stderr, exit 1, no stack trace", () => {
    const bad = join(tmpdir(), `${uniqueName("trunc")}.o`);
    cleanup.push(bad);
    writeFileSync(bad, readFileSync(obj("xdp_tail")).subarray(0, 300));
    const r = tsbpf("inspect", bad);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err.startsWith(`tsbpf inspect: ${bad}: ELF: `), r.err).toBe(true); // names the file
    noStack(r.err);
    const missing = tsbpf("inspect", "/nonexistent/x.o");
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/ENOENT/);
    expect(tsbpf("inspect").code).toBe(2);
  });
});

describeKernel("tsbpf load", () => {
  itKernel("loads every map and default program: exit 0", () => {
    const r = tsbpf("load", obj("xdp_tail"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/loaded 2 maps and 3 programs/);
  });

  itKernel("one line per failing program with the verifier log tail, exit 1", () => {
    const r = tsbpf("load", obj("bad_access"));
    expect(r.code).toBe(1);
    const failures = r.err.split("\n").filter((l) => l.startsWith("tsbpf load:"));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/program "bad_read".*EACCES from BPF_PROG_LOAD/);
    expect(r.err).toMatch(/invalid access to packet/);
    expect(r.err).not.toMatch(/good_pass/);
    noStack(r.err);
  });

  itKernel("--pin DIR pins the programs and maps (bpffs-safe names)", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpfload")}`;
    cleanup.push(dir);
    const r = tsbpf("load", obj("global_data"), "--pin", dir);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["bss", "count_packets", "data", "data_custom", "rodata", "rodata_greeting"]);
    expect(existsSync(join(dir, "count_packets"))).toBe(true);
  });
});
