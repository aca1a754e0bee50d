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
import { isSyscallError } from "../../src/index.js";
import { comparisonSvg } from "./chart.js";
import { parseTrafficResult, type TrafficResult } from "./traffic.js";
import { load } from "./sockmap_accel.bpf.js";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "64" },
    rounds: { type: "string", default: "2000" },
    chart: { type: "string", default: join(tmpdir(), "sockmap-accel.svg") },
  },
});

/** Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems). */
function cgroup2Root(): string | undefined {
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const [, dir, fstype] = line.split(" ");
    if (fstype === "cgroup2" && dir !== undefined) return dir;
  }
  return undefined;
}

/** The errno name of a refusal (the kernel's or the file system's), or undefined for a real bug. */
function refusalCode(err: unknown): string | undefined {
  if (isSyscallError(err)) return err.code;
  if (err instanceof Error && "code" in err && typeof err.code === "string" && ["EACCES", "EPERM", "EROFS"].includes(err.code)) return err.code;
  return undefined;
}

/** The machine refused a step: its one-line message. */
class Refused extends Error {}

/** Run `fn`; if the machine refuses it, throw a Refused that names `step` and the reason. */
function orRefused<T>(step: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (refusalCode(err) === undefined || !(err instanceof Error)) throw err;
    throw new Refused(`sockmap-accel: this machine refuses ${step}: ${err.message.split("\n")[0]}`);
  }
}

// Ctrl-C (or SIGTERM) aborts: the traffic child is killed, runTraffic rejects, the links and
// object are closed by `using`, and `finally` removes the cgroup. `on`, not `once`: a terminal's
// Ctrl-C arrives twice (from the process group, and passed on by examples/run.ts); should the
// second come after the listener is gone, the default action would kill before the cleanup.
const controller = new AbortController();
const { signal } = controller;
process.on("SIGINT", () => controller.abort());
process.on("SIGTERM", () => controller.abort());

const traffic = fileURLToPath(new URL("./traffic.ts", import.meta.url));

/** Run the traffic in a child that first moves itself into `cgroup`; its result. */
function runTraffic(cgroup: string): Promise<TrafficResult> {
  const script = `echo $$ > "$1/cgroup.procs" && exec "$2" --import tsx "$3" "$4" "$5"`;
  const child = spawn("sh", ["-c", script, "sh", cgroup, process.execPath, traffic, values.mb, values.rounds], { stdio: ["ignore", "pipe", "inherit"], signal });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", () => {}); // an abort kills the child; "close" reports it
    child.on("close", (code) => {
      if (signal.aborted) return reject(new Error("sockmap-accel: interrupted"));
      if (code !== 0) return reject(new Error(`sockmap-accel: traffic child exited with ${code}`));
      resolve(parseTrafficResult(out));
    });
  });
}

/** The whole run; its exit status. A refusal (Refused) leaves nothing behind: `using` and `finally`. */
async function main(): Promise<number> {
  // Load first: a machine that refuses BPF says so before anything is created or measured.
  using obj = orRefused("sockops and sk_msg programs", () => load());
  const root = cgroup2Root();
  if (root === undefined) throw new Refused("sockmap-accel: this machine refuses a cgroup: no cgroup2 mount (sockops attaches to a cgroup v2)");
  const cgroup = join(root, `tsbpf-sockmap-accel-${process.pid}-${randomBytes(4).toString("hex")}`);
  orRefused("a new cgroup", () => mkdirSync(cgroup));
  console.log(`cgroup ${cgroup}`);
  try {
    // Same cgroup, same traffic: first with nothing attached, then through the sockmap.
    console.log("measuring plain loopback TCP");
    const plain = await runTraffic(cgroup);
    const accel = await (async () => {
      using _links = orRefused("attaching sockops to a cgroup and sk_msg to a sockhash", () =>
        obj.attachAll({ sockops_insert: { cgroup }, sk_msg_redirect: { map: obj.maps.socks } }),
      );
      console.log("measuring through the sockmap");
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
    return 0;
  } catch (err) {
    if (!signal.aborted) throw err;
    console.log("interrupted");
    return 130;
  } finally {
    rmdirSync(cgroup);
    console.log(`removed cgroup ${cgroup}`);
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  if (!(err instanceof Refused)) throw err;
  console.log(err.message); // the machine said no: one line, exit 0, as every example does
}
