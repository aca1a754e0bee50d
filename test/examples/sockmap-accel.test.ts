import { spawn } from "node:child_process";
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
});
