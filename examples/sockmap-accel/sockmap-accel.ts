// sockmap-accel: sockops + sk_msg short-circuit TCP between local sockets; the same traffic is
// measured over plain loopback TCP and then through the sockmap, in one run.
// Usage: npm run example -- sockmap-accel [--mb N] [--rounds N] [--chart FILE.svg]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { comparisonSvg } from "./chart.js";
import type { TrafficResult } from "./traffic.js";
import { load } from "./sockmap_accel.bpf.js";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "64" },
    rounds: { type: "string", default: "2000" },
    chart: { type: "string", default: join(tmpdir(), "sockmap-accel.svg") },
  },
});

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems). */
function cgroup2Root(): string {
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const [, dir, fstype] = line.split(" ");
    if (fstype === "cgroup2" && dir !== undefined) return dir;
  }
  throw new Error("sockmap-accel: no cgroup2 mount (sockops attaches to a cgroup v2)");
}

// Ctrl-C reaches the traffic child too: it dies, runTraffic rejects, and `finally` removes the cgroup.
let interrupted = false;
process.once("SIGINT", () => (interrupted = true));

const traffic = fileURLToPath(new URL("./traffic.ts", import.meta.url));

/** Run the traffic in a child that first moves itself into `cgroup`; its JSON result. */
function runTraffic(cgroup: string): Promise<TrafficResult> {
  const script = `echo $$ > "$1/cgroup.procs" && exec "$2" --import tsx "$3" "$4" "$5"`;
  const child = spawn("sh", ["-c", script, "sh", cgroup, process.execPath, traffic, values.mb, values.rounds], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(interrupted ? "sockmap-accel: interrupted" : `sockmap-accel: traffic child exited with ${code}`));
      const r: TrafficResult = JSON.parse(out);
      resolve(r);
    }),
  );
}

const cgroup = join(cgroup2Root(), `tsbpf-sockmap-accel-${process.pid}-${randomBytes(4).toString("hex")}`);
mkdirSync(cgroup);
console.log(`cgroup ${cgroup}`);
try {
  // Same cgroup, same traffic: first with nothing attached, then through the sockmap.
  const plain = await runTraffic(cgroup);
  using obj = load();
  const accel = await (async () => {
    using _links = obj.attachAll({ sockops_insert: { cgroup }, sk_msg_redirect: { map: obj.maps.socks } });
    return await runTraffic(cgroup); // await: the links must outlive the traffic
  })();
  const stat = (i: number) => obj.maps.stats.get(i) ?? 0n;

  const row = (label: string, a: number, b: number) =>
    console.log(`${label.padEnd(18)}${a.toFixed(1).padStart(14)}${b.toFixed(1).padStart(14)}${`${(b / a).toFixed(2)}x`.padStart(10)}`);
  console.log(`${"".padEnd(18)}${"loopback TCP".padStart(14)}${"sockmap".padStart(14)}${"ratio".padStart(10)}`);
  row("throughput MB/s", plain.throughputMBps, accel.throughputMBps);
  row("round trip p50 µs", plain.rttP50us, accel.rttP50us);
  row("round trip p99 µs", plain.rttP99us, accel.rttP99us);
  console.log(`sockets in sockhash: ${stat(0)}, messages redirected: ${stat(1)}, bytes redirected: ${stat(2)}, not redirected: ${stat(3)}`);
  console.log(`data intact: loopback ${plain.intact ? "yes" : "NO"}, sockmap ${accel.intact ? "yes" : "NO"}`);

  writeFileSync(
    values.chart,
    comparisonSvg("sockmap-accel: loopback TCP vs sockmap redirect", [
      { name: "loopback", color: "#8c8c8c", ...plain },
      { name: "sockmap", color: "#2b7bb9", ...accel },
    ]),
  );
  console.log(`chart ${values.chart}`);
} finally {
  rmdirSync(cgroup);
  console.log(`removed cgroup ${cgroup}`);
}
