import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";

/** Every tag of `xml` closes in order (a small well-formedness check: no XML parser dependency). */
function tagsBalance(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (name === undefined) return false;
    if (selfClosing === "/") continue;
    if (closing === "/") {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}

describeKernel("examples/sockmap-accel", () => {
  itKernel("redirects local TCP through the sockhash with the data intact, prints the comparison table, writes an SVG chart of both series, and removes its cgroup", async () => {
    const chart = join(tmpdir(), `${uniqueName("sockmap-accel")}.svg`);
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "sockmap-accel", "--mb", "4", "--rounds", "200", "--chart", chart], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(err).toBe("");
      expect(code).toBe(0);

      const cgroup = /^cgroup (\/\S+)$/m.exec(out)?.[1];
      expect(cgroup).toMatch(/^\/sys\/fs\/cgroup.*\/tsbpf-sockmap-accel-\d+-[0-9a-f]{8}$/);
      expect(out).toContain(`removed cgroup ${cgroup}\n`);
      expect(existsSync(cgroup ?? "/")).toBe(false);

      expect(out).toMatch(/^ +loopback TCP +sockmap +ratio$/m);
      for (const row of ["throughput MB/s", "round trip p50 µs", "round trip p99 µs"]) expect(out).toMatch(new RegExp(`^${row} +\\d+\\.\\d +\\d+\\.\\d +\\d+\\.\\d\\dx$`, "m"));
      const stats = /^sockets in sockhash: (\d+), messages redirected: (\d+), bytes redirected: (\d+), not redirected: (\d+)$/m.exec(out);
      expect(stats).not.toBeNull();
      const [sockets, msgs, bytes] = (stats ?? []).slice(1, 4).map(Number);
      expect(sockets).toBe(4); // both ends of the bulk and the ping-pong connections
      expect(msgs).toBeGreaterThan(0);
      // Most of the 4 MB bulk transfer went through sk_msg (a first message may race the peer's insert).
      expect(bytes).toBeGreaterThan(3_000_000);
      expect(out).toContain("data intact: loopback yes, sockmap yes\n");

      expect(out).toContain(`chart ${chart}\n`);
      const svg = readFileSync(chart, "utf8");
      expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" /);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect(tagsBalance(svg)).toBe(true);
      for (const series of ["loopback", "sockmap"]) {
        expect(svg.match(new RegExp(`<rect class="series-${series}" [^>]*height="\\d+\\.\\d"`, "g"))).toHaveLength(3); // throughput, p50, p99
        expect(svg).toContain(`>${series}</text>`); // legend
      }
    } finally {
      rmSync(chart, { force: true });
    }
  }, 120_000);

  itKernel("Ctrl-C while the sockmap phase runs: the traffic stops, it prints \"interrupted\", removes its cgroup and exits 130", async () => {
    const chart = join(tmpdir(), `${uniqueName("sockmap-accel-int")}.svg`);
    // Its own process group, so the test sends SIGINT to the group as a terminal's Ctrl-C does.
    // 300 MB keep the sockmap phase running well past its child's start; SIGINT goes out as soon as it starts.
    const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "sockmap-accel", "--mb", "300", "--rounds", "200", "--chart", chart], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      const before = out;
      out += d.toString();
      if (!before.includes("measuring through the sockmap\n") && out.includes("measuring through the sockmap\n") && child.pid !== undefined) process.kill(-child.pid, "SIGINT");
    });
    try {
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(err).toBe("");
      const cgroup = /^cgroup (\/\S+)$/m.exec(out)?.[1];
      expect(out).toBe(`cgroup ${cgroup}\nmeasuring plain loopback TCP\nmeasuring through the sockmap\ninterrupted\nremoved cgroup ${cgroup}\n`);
      expect(existsSync(cgroup ?? "/")).toBe(false);
      expect(code).toBe(130);
      expect(existsSync(chart)).toBe(false);
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
      rmSync(chart, { force: true });
    }
  }, 120_000);

  itKernel("without CAP_BPF and CAP_SYS_ADMIN it says in one line that the machine refuses its programs, creates nothing and exits 0", () => {
    const caps = "-bpf,-sys_admin,-perfmon,-net_admin";
    const chart = join(tmpdir(), `${uniqueName("sockmap-accel-refused")}.svg`);
    const r = spawnSync("setpriv", [`--bounding-set=${caps}`, `--inh-caps=${caps}`, process.execPath, "--import", "tsx", "examples/run.ts", "sockmap-accel", "--mb", "1", "--rounds", "10", "--chart", chart], { encoding: "utf8" });
    try {
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^sockmap-accel: this machine refuses sockops and sk_msg programs: map "socks": create \(type sockhash, [^\n]*\): EPERM from BPF_MAP_CREATE \([^\n]*\)\n$/);
      expect(r.status).toBe(0);
      expect(existsSync(chart)).toBe(false);
    } finally {
      rmSync(chart, { force: true });
    }
  }, 60_000);
});
