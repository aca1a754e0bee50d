/** `tsbpf feature probe`: bpftool's JSON document from the probes, and its plain text with refusals explained. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bpftoolReport, probeMapType, probeProgramType, type BpftoolFeatureReport } from "../../src/features/index.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const ROOT = join(__dirname, "../..");

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("tsbpf feature (arguments)", () => {
  it("refuses an unknown argument or subcommand with usage, exit 2", () => {
    const bad = tsbpf("feature", "probe", "--yaml");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown argument "--yaml"');
    expect(tsbpf("feature", "list").code).toBe(2);
  });
});

describeKernel("tsbpf feature probe", () => {
  let json: { code: number; out: string };
  let ours: BpftoolFeatureReport;
  beforeAll(() => {
    json = tsbpf("feature", "probe", "--json");
    ours = bpftoolReport();
  }, 120_000);

  itKernel("--json is bpftoolReport() as one line: the same sections, keys and answers", () => {
    expect(json.code).toBe(0);
    expect(json.out.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(json.out)).toEqual(ours);
    expect(Object.keys(JSON.parse(json.out))).toEqual(["system_config", "syscall_config", "program_types", "map_types", "helpers", "misc"]);
  });

  itKernel("--pretty indents the same document", () => {
    const r = tsbpf("feature", "probe", "kernel", "--pretty");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {4}"system_config": \{$/m);
    expect(JSON.parse(r.out)).toEqual(ours);
  }, 120_000);

  itKernel("plain text: bpftool's lines, a refusal said as one, and tsbpf's families with minimum kernels", () => {
    const r = tsbpf("feature", "probe");
    expect(r.code).toBe(0);
    expect(r.out).toContain("eBPF program_type xdp is available\n");
    expect(r.out).toContain("eBPF map_type hash is available\n");
    const tracing = probeProgramType("tracing");
    if (tracing.status === "refused") expect(r.out).toMatch(/^eBPF program_type tracing is NOT available \(refused: EPERM from BPF_PROG_LOAD/m);
    else expect(r.out).toContain(`eBPF program_type tracing is ${tracing.status === "supported" ? "" : "NOT "}available\n`);
    const arena = probeMapType("arena");
    expect(r.out).toContain(`eBPF map_type arena is ${arena.status === "supported" ? "available" : arena.status === "refused" ? "NOT available (refused" : "NOT available"}`);
    expect(r.out).toMatch(/^Scanning link kinds \(tsbpf\)\.\.\.$/m);
    expect(r.out).toMatch(/^tcx links is (NOT )?available.* \(Linux 6\.6\+\)/m);
    expect(r.out).toMatch(/^eBPF helpers supported for program type xdp:\n\t- bpf_map_lookup_elem$/m);
  }, 120_000);
});
