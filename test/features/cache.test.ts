/**
 * Probes are cached per process and leave nothing open: a child process runs every probe twice
 * under strace, and the test counts its bpf(2) calls and matches every fd they returned with
 * its close(2).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { repoRoot } from "../helpers/docs.js";
import { describeKernel, hasTool, itKernel } from "../helpers/kernel.js";

const CHILD = `
import { writeSync } from "node:fs";
import { bpftoolReport, probeAll, probeBodiesRun, probeHelper, probeTracingAttach } from ${JSON.stringify(join(repoRoot, "src/features/index.ts"))};
import { BpfMap } from ${JSON.stringify(join(repoRoot, "src/map/bpf-map.ts"))};
const all = () => { bpftoolReport({ full: true }); probeAll(); probeHelper("xdp", "redirect"); probeTracingAttach("trace_iter", "bpf_map"); };
writeSync(1, "MARK start\\n");
all();
writeSync(1, "MARK first " + probeBodiesRun() + "\\n");
all();
writeSync(1, "MARK second " + probeBodiesRun() + "\\n");
BpfMap.create({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 }).close();
writeSync(1, "MARK map\\n");
`;

interface Trace {
  /** Lines of the process that ran the probes, between two markers. */
  between(from: string, to: string): string[];
  bodies: Record<string, number>;
}

let dir: string;
let trace: Trace;

const enabled = hasTool("strace", ["-V"]);

(enabled ? describeKernel : describe.skip)("probe cache and fds (counted by strace)", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tsbpf-probe-"));
    writeFileSync(join(dir, "child.ts"), CHILD);
    const out = join(dir, "strace.txt");
    const r = spawnSync("strace", ["-f", "-e", "trace=bpf,close,write,prlimit64", "-o", out, join(repoRoot, "node_modules/.bin/tsx"), join(dir, "child.ts")], {
      encoding: "utf8",
      cwd: repoRoot,
    });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    const lines = readFileSync(out, "utf8").split("\n");
    const marks = lines.map((l, i) => [i, /write\(1, "MARK (\w+)( \d+)?\\n"/.exec(l), l] as const).filter(([, m]) => m);
    const pid = marks[0][2].split(/\s+/)[0];
    const at = (name: string) => marks.find(([, m]) => m![1] === name)![0];
    trace = {
      between: (from, to) => lines.slice(at(from) + 1, at(to)).filter((l) => l.startsWith(`${pid} `)),
      bodies: Object.fromEntries(marks.filter(([, m]) => m![2]).map(([, m]) => [m![1], Number(m![2])])),
    };
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  itKernel("the first round asks the kernel (thousands of bpf calls: every type, helper and feature)", () => {
    const calls = trace.between("start", "first").filter((l) => /\bbpf\(/.test(l));
    expect(calls.length).toBeGreaterThan(1000);
    expect(trace.bodies.first).toBeGreaterThan(1000);
  });

  itKernel("the second round makes no bpf(2) call and runs no probe body", () => {
    expect(trace.between("first", "second").filter((l) => /\bbpf\(/.test(l))).toEqual([]);
    expect(trace.bodies.second).toBe(trace.bodies.first);
  });

  itKernel("creating a map leaves RLIMIT_MEMLOCK alone: the probe found memory-cgroup accounting (5.11+)", () => {
    const lines = trace.between("second", "map");
    expect(lines.filter((l) => /\bbpf\(BPF_MAP_CREATE/.test(l))).toHaveLength(1);
    // prlimit64(0, RLIMIT_MEMLOCK, {new limit}, …) would be the raise; reading it is NULL-new
    expect(lines.filter((l) => /prlimit64\(0, RLIMIT_MEMLOCK, \{/.test(l))).toEqual([]);
  });

  itKernel("every fd a probe got from bpf(2) is closed before the round ends", () => {
    const open = new Set<number>();
    for (const l of trace.between("start", "first")) {
      const made = /\bbpf\(BPF_(?:MAP_CREATE|PROG_LOAD|BTF_LOAD|LINK_CREATE|TOKEN_CREATE|\w+_GET_FD_BY_ID|OBJ_GET|ITER_CREATE|RAW_TRACEPOINT_OPEN)\b.*\)\s+= (\d+)$/.exec(l);
      if (made) open.add(Number(made[1]));
      const closed = /\bclose\((\d+)\)\s+= 0$/.exec(l);
      if (closed) open.delete(Number(closed[1]));
    }
    expect([...open]).toEqual([]);
  });
});
