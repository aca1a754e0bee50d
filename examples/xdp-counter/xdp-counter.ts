// xdp-counter: packets and bytes per protocol arriving on an interface, counted by an XDP program
// in a per-CPU array and summed here, printed every second as a table.
// Usage: npm run example -- xdp-counter [--interface IF [--netns NS]] [--duration S] [--count N] [--no-traffic]
// Without --interface it builds its own lab (two network namespaces joined by a veth pair, made
// with iproute2's `ip`: tsbpf attaches programs but does not create interfaces), sends traffic
// across it every second, and removes it on exit. Ctrl-C (or --duration/--count) stops it.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { attachXdp } from "../../src/index.js";
import { load, type Counts } from "./xdp_counter.bpf.js";

const PROTOCOLS = ["tcp", "udp", "icmp", "other"] as const; // the C enum proto's order

const { values } = parseArgs({
  options: {
    interface: { type: "string" },
    netns: { type: "string" },
    duration: { type: "string" },
    count: { type: "string" },
    "no-traffic": { type: "boolean", default: false },
  },
});
const controller = new AbortController();
// `on`, not `once`: through `npm run example` a terminal's Ctrl-C arrives twice (the process
// group's and the runner's), and the second must not find the default handler and kill the cleanup.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => controller.abort());
if (values.duration !== undefined) setTimeout(() => controller.abort(), Number(values.duration) * 1000).unref();

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Two namespaces, `a` (where XDP counts) and `b`, joined by a veth pair; removed on dispose. */
class Lab implements Disposable {
  readonly tag = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  readonly a = { netns: `xdpc-${this.tag}-a`, iface: `xa${this.tag}`.slice(0, 15), addr: "10.77.0.1" };
  readonly b = { netns: `xdpc-${this.tag}-b`, iface: `xb${this.tag}`.slice(0, 15), addr: "10.77.0.2" };
  constructor() {
    try {
      ip("netns", "add", this.a.netns);
      ip("netns", "add", this.b.netns);
      ip("link", "add", this.a.iface, "netns", this.a.netns, "type", "veth", "peer", "name", this.b.iface, "netns", this.b.netns);
      for (const end of [this.a, this.b]) {
        ip("-n", end.netns, "addr", "add", `${end.addr}/24`, "dev", end.iface);
        ip("-n", end.netns, "link", "set", end.iface, "up");
      }
    } catch (err) {
      this[Symbol.dispose]();
      throw err;
    }
  }
  /** One round of traffic into `a`: UDP datagrams and a TCP SYN from b (a answers RST), and a UDP
   * datagram from a to a closed port of b (b answers ICMP port unreachable). ARP is "other". */
  sendTraffic(): void {
    const fromB = `for i in 1 2 3; do printf '%100s' > /dev/udp/${this.a.addr}/9; done; : 2>/dev/null > /dev/tcp/${this.a.addr}/9`;
    const fromA = `printf x > /dev/udp/${this.b.addr}/9`;
    for (const [end, script] of [[this.b, fromB], [this.a, fromA]] as const) {
      spawn("ip", ["netns", "exec", end.netns, "bash", "-c", script], { stdio: "ignore" });
    }
  }
  [Symbol.dispose](): void {
    for (const end of [this.a, this.b]) {
      try {
        ip("netns", "del", end.netns); // takes its end of the veth pair with it
      } catch {
        // not created
      }
    }
  }
}

using lab = values.interface === undefined ? new Lab() : undefined;
const where = lab !== undefined ? { interface: lab.a.iface, netns: lab.a.netns } : { interface: String(values.interface), netns: values.netns };
using obj = load();
using _link = attachXdp(obj.programs.count_packets, where);
if (lab !== undefined) {
  console.log(`lab: netns ${lab.a.netns} (${lab.a.iface} ${lab.a.addr}, XDP here) <-> netns ${lab.b.netns} (${lab.b.iface} ${lab.b.addr})`);
}

function totals(): Counts[] {
  return PROTOCOLS.map((_, i) =>
    (obj.maps.stats.get(i) ?? []).reduce((sum, c) => ({ packets: sum.packets + c.packets, bytes: sum.bytes + c.bytes }), { packets: 0n, bytes: 0n }),
  );
}

function table(): string[] {
  const rows = totals().map((c, i) => `${PROTOCOLS[i].padEnd(8)}${String(c.packets).padStart(12)}${String(c.bytes).padStart(14)}`);
  return [`${"PROTO".padEnd(8)}${"PACKETS".padStart(12)}${"BYTES".padStart(14)}`, ...rows];
}

const live = process.stdout.isTTY;
const intervals = values.count === undefined ? Infinity : Number(values.count);
let printed = 0;
for (let n = 0; n < intervals && !controller.signal.aborted; n++) {
  if (lab !== undefined && !values["no-traffic"]) lab.sendTraffic();
  try {
    await sleep(1000, undefined, { signal: controller.signal });
  } catch {
    break; // aborted
  }
  const lines = [`after ${n + 1}s on ${where.interface}:`, ...table()];
  // On a terminal, redraw the table in place; in a pipe, print one table per second.
  if (live && printed > 0) process.stdout.write(`\x1b[${printed}A\x1b[J`);
  console.log(lines.join("\n"));
  printed = lines.length;
}
console.log(lab === undefined ? "stopped" : `stopped; removing netns ${lab.a.netns} and ${lab.b.netns}`);
