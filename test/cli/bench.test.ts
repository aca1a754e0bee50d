/**
 * `tsbpf bench` from the outside: usage errors exit 2, a benchmark prints JSON or Markdown, an
 * object with several programs asks which, a type that test runs cannot time points at
 * --live, --fail-if-slower and --baseline exit 1 on a slow-down, and --live samples a program
 * attached to a veth under traffic.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import { attachXdp } from "../../src/link/xdp.js";
import { Program } from "../../src/program/program.js";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";
import { VethEnv } from "../link/net-env.js";

const ROOT = join(__dirname, "../..");
const CLI = ["--import", "tsx", join(ROOT, "src/cli/main.ts")];

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [...CLI, "bench", ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("tsbpf bench usage (no kernel needed)", () => {
  it.each([
    { args: [], message: /name an object/ },
    { args: ["x.o", "--rounds", "0"], message: /--rounds needs a number ≥ 1/ },
    { args: ["x.o", "--json", "--markdown"], message: /exclude each other/ },
    { args: ["x.o", "--colour"], message: /unknown option --colour/ },
    { args: ["--live"], message: /--live needs --id N .* or --pin PATH/ },
  ])("$args: exit 2 and the reason", ({ args, message }) => {
    const r = tsbpf(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/usage: tsbpf bench OBJ/);
  });
});

describeKernel("tsbpf bench", () => {
  itKernel("--json gives every round and the return value of each --packet", () => {
    const r = tsbpf("bpf/bench/blocklist_v1.o", "--packet", "udp,src=203.0.113.5", "--packet", "tcp,size=1514", "--rounds", "7", "--repeat", "100", "--json");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { target: string; rounds: number[]; retvals: number[]; repeat: number; summary: { n: number } };
    expect(json.target).toBe("bpf/bench/blocklist_v1.o:filter");
    expect(json.rounds).toHaveLength(7);
    expect(json.summary.n).toBe(7);
    expect(json.repeat).toBe(100);
    expect(json.retvals).toEqual([1, 2]);
    expect(r.err).toMatch(/round 7\/7/);
  });

  itKernel("--markdown gives a table and a fenced histogram", () => {
    const r = tsbpf("bpf/bench/blocklist_v2.o:filter", "--rounds", "6", "--repeat", "50", "--markdown");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\| program \| median ns\/run \| CI \|/m);
    expect(r.out).toMatch(/^```\n[\s\S]* ns \|#+ \d+/m);
  });

  itKernel("asks which program when an object has several, and points at --live for a type test runs cannot time", () => {
    const several = tsbpf("bpf/xdp_tail.o");
    expect(several.code).toBe(2);
    expect(several.err).toMatch(/has 3 programs that can be benchmarked: pick one with bpf\/xdp_tail\.o:NAME/);
    const tracepoint = tsbpf("bpf/opensnoop.o");
    expect(tracepoint.code).toBe(2);
    expect(tracepoint.err).toMatch(/no program that test runs can time .*--live/);
  });

  itKernel("--fail-if-slower exits 1 when B is slower; --baseline fails on a slow-down and --update-baseline accepts it", () => {
    const slower = tsbpf("bpf/bench/blocklist_v2.o", "--vs", "bpf/bench/blocklist_v1.o", "--rounds", "11", "--fail-if-slower");
    expect(slower.out).toMatch(/B is slower than A/);
    expect(slower.code).toBe(1);
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-cli-baseline-"));
    try {
      const file = join(dir, "baseline.json");
      // One IPv4 frame from a source not on the list: v1 scans all 128 entries, v2 takes 8 steps.
      const rec = tsbpf("bpf/bench/blocklist_v2.o", "--packet", "udp", "--baseline", file, "--rounds", "11");
      expect(rec.out).toMatch(/recorded .* ns\/run as the baseline/);
      expect(rec.code).toBe(0);
      // v1 scans 128 entries where v2 takes 8 steps: 1.6x (loaded machine) to 4x (quiet) the
      // time. The regression check asks for +25%, well under that; the check after the update
      // compares v1 with itself at different moments, so it allows +400% of noise.
      const v1 = ["bpf/bench/blocklist_v1.o:filter", "--packet", "udp", "--baseline", file, "--rounds", "11", "--threshold", "1"];
      // The baseline is keyed by program name ("filter"): v1 under v2's entry is a slow-down.
      const regressed = tsbpf(...v1.slice(0, -1), "0.25");
      expect(regressed.out, `baseline run:\n${rec.out}\ncheck:\n${regressed.out}\n${readFileSync(file, "utf8")}`).toMatch(/slower\. If this is intended, run with --update-baseline/);
      expect(regressed.code).toBe(1);
      const updated = tsbpf(...v1, "--update-baseline");
      expect(updated.code).toBe(0);
      const recorded = /recorded ([\d.]+) ns\/run as the baseline/.exec(updated.out);
      expect(recorded, updated.out).not.toBeNull();
      expect(readFileSync(file, "utf8")).toContain(recorded![1].split(".")[0]);
      // v1 against its own baseline: a generous threshold, since two moments of a loaded machine
      // differ by more than 2x (seen in CI while another process streamed on both CPUs).
      const again = tsbpf(...v1.slice(0, -1), "4");
      expect(again.code, again.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  itKernel("--live --id samples an XDP program attached to a veth while traffic flows", async () => {
    using env = new VethEnv();
    using prog = Program.load({ name: "cli_live", type: "xdp", instructions: asm`
      r0 = 2
      exit
    ` });
    using link = attachXdp(prog, { interface: env.ifB, netns: env.b.name });
    expect(link).toBeDefined();
    const pin = `/sys/fs/bpf/${uniqueName("tsbpf_bench_live")}`;
    prog.pin(pin);
    try {
    // The same program twice: by id, and by its pin.
    const child = spawn(process.execPath, [...CLI, "bench", "--live", "--id", String(prog.info().id), "--pin", pin, "--seconds", "3", "--json"], { cwd: ROOT });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    let done = false;
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => { done = true; resolve(code ?? -1); }));
    // Traffic all through the child's 3 s window (a loaded machine may start it late): 50
    // datagrams every 100 ms until it exits. The window sees at least one batch.
    for (let i = 0; i < 200 && !err.includes("sampling"); i++) await new Promise((r) => setTimeout(r, 25));
    let sent = 0;
    while (!done) {
      sent += env.sendUdp(50);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await exited).toBe(0);
    const live = JSON.parse(out) as { programs: { name: string; runs: string; nsPerRun: number }[] };
    expect(live.programs).toHaveLength(2);
    for (const p of live.programs) {
      expect(p.name).toBe("cli_live");
      expect(BigInt(p.runs)).toBeGreaterThanOrEqual(50n);
      expect(BigInt(p.runs)).toBeLessThanOrEqual(BigInt(sent) + 50n); // the datagrams, and a little chatter
      expect(p.nsPerRun).toBeGreaterThan(0);
    }
    } finally {
      rmSync(pin, { force: true });
    }
  }, 60_000);
});
