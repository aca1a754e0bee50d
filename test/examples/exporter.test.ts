import { spawn, spawnSync } from "node:child_process";
import { closeSync, fdatasyncSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";

const FDATASYNC = 75; // x86_64 syscall number

/** The samples of a Prometheus text exposition: "name{labels}" → value. */
function samples(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

describeKernel("examples/exporter", () => {
  itKernel("serves syscall counts and a latency histogram from the maps on /metrics; the counts follow the syscalls this process makes; Ctrl-C stops it", async () => {
    const file = join(tmpdir(), uniqueName("exporter"));
    const fd = openSync(file, "w");
    // Its own process group, so the test can send Ctrl-C's SIGINT to the group as a terminal does.
    const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", "exporter", "--port", "0", "--pid", String(process.pid)], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /serving (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/.exec(out);
          if (m?.[1] !== undefined) resolve(m[1]);
        });
        child.on("close", () => reject(new Error(`exporter exited: ${out}${err}`)));
      });
      expect(url).not.toContain(":9435/"); // --port 0: an ephemeral port
      const scrape = async () => {
        const res = await fetch(url);
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
        return samples(await res.text());
      };
      const before = await scrape();
      const N = 37;
      for (let i = 0; i < N; i++) fdatasyncSync(fd);
      const after = await scrape();

      const key = `ebpf_syscalls_total{syscall="${FDATASYNC}"}`;
      expect((after.get(key) ?? 0) - (before.get(key) ?? 0)).toBe(N);
      // Only this process is traced (--pid): no syscall number it did not make shows up, e.g. execve.
      expect(after.has('ebpf_syscalls_total{syscall="59"}')).toBe(false);

      const count = after.get("ebpf_syscall_latency_seconds_count") ?? 0;
      expect(count - (before.get("ebpf_syscall_latency_seconds_count") ?? 0)).toBeGreaterThanOrEqual(N);
      expect(after.get('ebpf_syscall_latency_seconds_bucket{le="+Inf"}')).toBe(count);
      const buckets = [...after].filter(([k]) => k.startsWith("ebpf_syscall_latency_seconds_bucket{le=") && !k.includes("+Inf"));
      expect(buckets.length).toBeGreaterThan(0);
      const bounds = buckets.map(([k]) => Number(/le="([^"]+)"/.exec(k)?.[1]));
      for (let i = 1; i < buckets.length; i++) {
        expect(bounds[i]).toBe((bounds[i - 1] ?? 0) * 2); // log2 buckets
        expect(buckets[i]?.[1]).toBeGreaterThanOrEqual(buckets[i - 1]?.[1] ?? 0); // cumulative
      }
      expect(after.get("ebpf_syscall_latency_seconds_sum")).toBeGreaterThan(0);

      const notFound = await fetch(url.replace("/metrics", "/"));
      expect(notFound.status).toBe(404);

      // A second exporter on the same port says so in one line and exits 1.
      const port = /:(\d+)\/metrics$/.exec(url)?.[1] ?? "";
      const second = spawnSync(process.execPath, ["--import", "tsx", "examples/run.ts", "exporter", "--port", port, "--duration", "1"], { encoding: "utf8" });
      expect(second.stderr).toBe("");
      expect(second.stdout).toBe(`exporter: 127.0.0.1:${port} is in use; pass --port N (0 for any free port)\n`);
      expect(second.status).toBe(1);
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGINT");
      closeSync(fd);
      rmSync(file, { force: true });
    }
    expect(await closed).toBe(0);
    expect(err).toBe("");
    expect(out).toMatch(/stopped\n$/);
  }, 60_000);

  itKernel("without CAP_BPF and CAP_SYS_ADMIN it says in one line that the machine refuses its programs and exits 0", () => {
    const caps = "-bpf,-sys_admin,-perfmon,-net_admin";
    const r = spawnSync("setpriv", [`--bounding-set=${caps}`, `--inh-caps=${caps}`, process.execPath, "--import", "tsx", "examples/run.ts", "exporter", "--port", "0", "--duration", "1"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^exporter: this machine refuses its tracepoint programs: map "syscall_counts": create \(type hash, [^\n]*\): EPERM from BPF_MAP_CREATE \([^\n]*\)\n$/);
    expect(r.status).toBe(0);
  }, 60_000);
});
