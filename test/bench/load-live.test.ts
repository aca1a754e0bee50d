/**
 * The cost of loading (the verifier's stats log, verified_insns, xlated and JIT'd sizes) and
 * the live cost of an attached program under real traffic on a veth pair in namespaces made
 * here (BPF_ENABLE_STATS, with its fd closed afterwards).
 */
import { readdirSync, readlinkSync } from "node:fs";
import { describe, expect } from "vitest";
import { it } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import { liveStats } from "../../src/bench/live.js";
import { loadCost, parseVerifierStats } from "../../src/bench/load-cost.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { attachXdp } from "../../src/link/xdp.js";
import { Program } from "../../src/program/program.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { VethEnv } from "../link/net-env.js";

/** fds of this process that are BPF stats fds. */
function statsFds(): number {
  let n = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:bpf-stats") n++;
    } catch {
      // the fd of the directory listing itself is gone already
    }
  }
  return n;
}

describe("parseVerifierStats", () => {
  it("reads the summary lines of a log level 4 log", () => {
    const log = "func#0 @0\nverification time 153 usec\nstack depth 16+0\nprocessed 1203 insns (limit 1000000) max_states_per_insn 4 total_states 98 peak_states 77 mark_read 12\n";
    expect(parseVerifierStats(log)).toEqual({
      processedInsns: 1203, maxStatesPerInsn: 4, totalStates: 98, peakStates: 77, markRead: 12, verificationTimeUs: 153, stackDepth: [16, 0],
    });
    expect(parseVerifierStats("nothing useful")).toEqual({});
  });
});

describeKernel("loadCost", () => {
  itKernel("reports each program's verifier work and code sizes; the loop costs more to verify than its size", () => {
    const spec = CollectionSpec.fromFile("bpf/bench/packet_parse.o");
    const [cost] = loadCost(spec);
    expect(cost.name).toBe("parse");
    expect(cost.type).toBe("xdp");
    expect(cost.instructions).toBeGreaterThan(50);
    // The verifier walks the checksum loop once per iteration: far more than the program's size.
    expect(cost.processedInsns).toBeGreaterThan(cost.instructions * 5);
    expect(cost.verifiedInsns).toBe(cost.processedInsns);
    expect(cost.peakStates).toBeGreaterThan(0);
    expect(cost.totalStates).toBeGreaterThanOrEqual(cost.peakStates!);
    expect(cost.verificationTimeUs).toBeGreaterThan(0);
    expect(cost.translatedBytes).toBeGreaterThanOrEqual(cost.instructions * 8 - 64);
    expect(cost.jitedBytes).toBeGreaterThan(0);
  });

  itKernel("refuses a program the object does not have", () => {
    expect(() => loadCost(CollectionSpec.fromFile("bpf/bench/packet_parse.o"), { programs: ["nope"] })).toThrow(/nope/);
  });
});

describeKernel("liveStats", () => {
  itKernel("counts the runs and run time of an XDP program attached to a veth under UDP traffic, then closes the stats fd", async () => {
    using env = new VethEnv();
    using prog = Program.load({ name: "live_pass", type: "xdp", instructions: asm`
      r0 = 2
      exit
    ` });
    using link = attachXdp(prog, { interface: env.ifB, netns: env.b.name });
    expect(link).toBeDefined();
    const before = statsFds();
    const window = liveStats({ ids: [prog.info().id], durationMs: 600 });
    // Traffic during the window: 300 datagrams from a to b, each one run of the program on vb.
    await new Promise((r) => setTimeout(r, 100));
    expect(statsFds()).toBe(before + 1); // counting is on during the window
    const sent = env.sendUdp(300);
    const result = await window;
    expect(statsFds()).toBe(before);
    expect(sent).toBe(300);
    const [p] = result.programs;
    expect(p.name).toBe("live_pass");
    expect(p.runs).toBeGreaterThanOrEqual(300n);
    expect(p.runs).toBeLessThan(400n); // the datagrams, plus at most a little neighbour/IPv6 chatter
    expect(p.runTimeNs).toBeGreaterThan(0n);
    expect(p.nsPerRun).toBeGreaterThan(0);
    expect(result.windowNs).toBeGreaterThanOrEqual(590e6);
  });

  itKernel("counts nothing for a program that does not run, and ends early on abort", async () => {
    using prog = Program.load({ name: "idle", type: "xdp", instructions: asm`
      r0 = 2
      exit
    ` });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t0 = Date.now();
    const result = await liveStats({ programs: [prog], durationMs: 10_000, signal: ac.signal });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(result.programs[0].runs).toBe(0n);
    expect(Number.isNaN(result.programs[0].nsPerRun)).toBe(true);
  });

  itKernel("names what is wrong with its options", async () => {
    await expect(liveStats({})).rejects.toThrow(/give ids or programs/);
    await expect(liveStats({ ids: [0x7ffffff0] })).rejects.toThrow(/ENOENT/);
  });
});
