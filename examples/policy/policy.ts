// policy: a Cilium-style identity policy. Endpoints get numeric identities (a map keyed by IPv4
// address); a tc program on the server's ingress allows or drops by (source identity,
// destination port, protocol) from a policy map that this side updates live, and counts drops
// per rule.
// Usage: npm run example -- policy [--packets N] [--pause S] [--attach tcx|tc]
// It builds its own lab (a server namespace with a veth pair to each of two client namespaces,
// made with iproute2's `ip`: tsbpf attaches programs but does not create interfaces), sends UDP
// datagrams and a TCP connection across it in three phases (rule allows, a live update denies,
// allows again), and removes the lab on exit. Ctrl-C stops it between or during phases.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { attachTc, attachTcx, isSyscallError, type Link } from "../../src/index.js";
import { load, type Policy, type PolicyKey } from "./policy.bpf.js";

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const PORT = 8080;

const { values } = parseArgs({
  options: {
    packets: { type: "string", default: "5" },
    pause: { type: "string", default: "1" },
    attach: { type: "string", default: "tcx" },
  },
});
const packets = Number(values.packets);
const pauseMs = Number(values.pause) * 1000;
if (!Number.isInteger(packets) || packets < 1 || !(pauseMs >= 0) || (values.attach !== "tcx" && values.attach !== "tc")) {
  console.error("usage: npm run example -- policy [--packets N ≥ 1] [--pause S ≥ 0] [--attach tcx|tc]");
  process.exit(2);
}
const controller = new AbortController();
const { signal } = controller;
// `on`, not `once`: through `npm run example` a terminal's Ctrl-C arrives twice (the process
// group's and the runner's), and the second must not find the default handler and kill the cleanup.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => controller.abort());

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** The identities map is keyed by the source address as the packet carries it: its 4 bytes, read
 * as the little-endian u32 that the map's key codec writes back as the same 4 bytes. */
function addressKey(addr: string): number {
  return Buffer.from(addr.split(".").map(Number)).readUInt32LE(0);
}

interface Endpoint {
  name: string;
  identity: number;
  netns: string;
  iface: string; // in the endpoint's namespace
  serverIface: string; // its peer, in the server's namespace: the policy runs on its ingress
  addr: string;
  serverAddr: string;
}

/** A server namespace and two client namespaces, each joined to the server by a veth pair. */
class Lab implements Disposable {
  readonly tag = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  readonly server = `pol-${this.tag}-srv`;
  readonly endpoints: readonly [Endpoint, Endpoint] = [
    { name: "frontend", identity: 200, netns: `pol-${this.tag}-fe`, iface: `pf${this.tag}`.slice(0, 15), serverIface: `sf${this.tag}`.slice(0, 15), addr: "10.78.1.2", serverAddr: "10.78.1.1" },
    { name: "other", identity: 300, netns: `pol-${this.tag}-ot`, iface: `po${this.tag}`.slice(0, 15), serverIface: `so${this.tag}`.slice(0, 15), addr: "10.78.2.2", serverAddr: "10.78.2.1" },
  ];
  /** UDP datagrams the server received, by source address. */
  readonly received = new Map<string, number>();
  private server_: ChildProcess | undefined;

  constructor() {
    try {
      for (const ns of this.namespaces()) ip("netns", "add", ns);
      for (const e of this.endpoints) {
        ip("link", "add", e.iface, "netns", e.netns, "type", "veth", "peer", "name", e.serverIface, "netns", this.server);
        ip("-n", e.netns, "addr", "add", `${e.addr}/24`, "dev", e.iface);
        ip("-n", this.server, "addr", "add", `${e.serverAddr}/24`, "dev", e.serverIface);
        ip("-n", e.netns, "link", "set", e.iface, "up");
        ip("-n", this.server, "link", "set", e.serverIface, "up");
      }
    } catch (err) {
      this[Symbol.dispose]();
      throw err;
    }
  }

  namespaces(): string[] {
    return [this.server, ...this.endpoints.map((e) => e.netns)];
  }

  /** Serve TCP (accept and close) and UDP (count each datagram by source) on PORT in the server namespace. */
  async serve(): Promise<void> {
    const code = `const s = require("dgram").createSocket("udp4");
      s.on("message", (_, r) => console.log("udp " + r.address));
      s.bind(${PORT}, () => require("net").createServer((c) => c.end()).listen(${PORT}, () => console.log("ready")));`;
    const child = spawn("ip", ["netns", "exec", this.server, process.execPath, "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    this.server_ = child;
    if (child.stdout === null) throw new Error("policy: the server has no stdout");
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<void>((resolve, reject) => {
      lines.once("line", () => resolve());
      child.once("close", (code) => reject(new Error(`policy: the server in ${this.server} exited (${code}) before it was ready`)));
    });
    lines.on("line", (l) => {
      const from = /^udp (\S+)$/.exec(l)?.[1];
      if (from !== undefined) this.received.set(from, (this.received.get(from) ?? 0) + 1);
    });
    await ready;
  }

  /** Send `n` UDP datagrams from `from` to the server's PORT; resolves when they are sent. */
  async sendUdp(from: Endpoint, n: number): Promise<void> {
    const script = `for i in $(seq ${n}); do printf x > /dev/udp/${from.serverAddr}/${PORT}; done`;
    await once(spawn("ip", ["netns", "exec", from.netns, "bash", "-c", script], { stdio: "ignore" }), "close");
  }

  /** Does a TCP connection from `from` to the server's PORT succeed within one second? */
  async connects(from: Endpoint): Promise<boolean> {
    const child = spawn("ip", ["netns", "exec", from.netns, "timeout", "1", "bash", "-c", `: > /dev/tcp/${from.serverAddr}/${PORT}`], { stdio: "ignore" });
    const [code] = await once(child, "close");
    return code === 0;
  }

  [Symbol.dispose](): void {
    this.server_?.kill(); // a namespace's interfaces live as long as a process is in it
    for (const ns of this.namespaces()) {
      try {
        ip("netns", "del", ns); // takes the veth ends inside with it
      } catch {
        // not created
      }
    }
  }
}

/** Load the object, or say in one line that the machine refuses it and exit 0. */
function loadOrExplain(): Policy {
  try {
    return load();
  } catch (err) {
    if (!isSyscallError(err) || err.code !== "EPERM") throw err;
    console.log(`policy: this machine refuses the tc program: ${err.message.split("\n")[0]}`);
    process.exit(0);
  }
}

let how = values.attach;
/** Attach to the ingress of a server-side interface with tcx, or with classic tc (clsact +
 * cls_bpf) when asked or when the kernel refuses tcx (before 6.6), saying so in one line. */
function attach(obj: Policy, lab: Lab, e: Endpoint): Link {
  const where = { interface: e.serverIface, direction: "ingress", netns: lab.server } as const;
  if (how === "tcx") {
    try {
      return attachTcx(obj.programs.enforce, where);
    } catch (err) {
      if (!isSyscallError(err) || !["EINVAL", "EPERM", "EOPNOTSUPP"].includes(err.code)) throw err;
      console.log(`policy: this machine refuses tcx (${err.message.split("\n")[0]}); attaching with tc (clsact) instead`);
      how = "tc";
    }
  }
  return attachTc(obj.programs.enforce, where);
}

using obj = loadOrExplain(); // before the lab: a refusal exits at once, with nothing to remove
using lab = new Lab();
await lab.serve();
const [frontend, other] = lab.endpoints;
for (const e of lab.endpoints) obj.maps.identities.set(addressKey(e.addr), e.identity);
using _fromFrontend = attach(obj, lab, frontend);
using _fromOther = attach(obj, lab, other);
console.log(`attached with ${how} to the ingress of ${frontend.serverIface} and ${other.serverIface} in ${lab.server}`);
console.log(`lab: server netns ${lab.server}; ${lab.endpoints.map((e) => `${e.name} netns ${e.netns} ${e.addr} identity ${e.identity}`).join("; ")}`);

// Rule 0 is the default deny (no entry matches). Rule 2 keeps the frontend's TCP allowed
// throughout: the protocol is part of the key, so denying its UDP leaves its TCP alone.
const udpRule: PolicyKey = { identity: frontend.identity, dport: PORT, proto: IPPROTO_UDP, pad: 0 };
const tcpRule: PolicyKey = { identity: frontend.identity, dport: PORT, proto: IPPROTO_TCP, pad: 0 };
const rules = ["default deny (no rule matches)", `identity ${frontend.identity} -> udp/${PORT}`, `identity ${frontend.identity} -> tcp/${PORT}`];
obj.maps.policy.set(tcpRule, { rule: 2, allow: 1 });

function drops(): number[] {
  return rules.map((_, i) => Number(obj.maps.drops.get(i) ?? 0n));
}

/** Send `packets` datagrams from each endpoint and wait (up to 2 s) until each one was either
 * received or counted as a drop; returns what each endpoint had received. */
async function sendAndSettle(): Promise<number[]> {
  const before = lab.endpoints.map((e) => lab.received.get(e.addr) ?? 0);
  const dropsBefore = drops().reduce((a, b) => a + b, 0);
  await Promise.all(lab.endpoints.map((e) => lab.sendUdp(e, packets)));
  const got = (): number[] => lab.endpoints.map((e, i) => (lab.received.get(e.addr) ?? 0) - (before[i] ?? 0));
  for (let t = 0; t < 40; t++) {
    const settled = got().reduce((a, b) => a + b, 0) + drops().reduce((a, b) => a + b, 0) - dropsBefore;
    if (settled >= packets * lab.endpoints.length) break;
    await sleep(50, undefined, { signal });
  }
  return got();
}

async function phase(n: number, allow: boolean): Promise<void> {
  signal.throwIfAborted();
  obj.maps.policy.set(udpRule, { rule: 1, allow: allow ? 1 : 0 }); // live: the next packet sees it
  console.log(`phase ${n}: rule 1 (${rules[1]}) set to ${allow ? "allow" : "deny"}`);
  const received = await sendAndSettle();
  lab.endpoints.forEach((e, i) => console.log(`  ${e.name.padEnd(9)}-> server udp/${PORT}: sent ${packets}, received ${received[i]}`));
  console.log(`  ${frontend.name.padEnd(9)}-> server tcp/${PORT}: ${(await lab.connects(frontend)) ? "connected" : "timed out"}`);
  console.log(`  drops: ${drops().map((d, i) => `rule ${i} = ${d}`).join(", ")}`);
}

try {
  for (const [n, allow] of [[1, true], [2, false], [3, true]] as const) {
    if (n > 1) await sleep(pauseMs, undefined, { signal });
    await phase(n, allow);
  }
  // The table reads each rule's action back from the policy map, as it stands now.
  const actions = [undefined, udpRule, tcpRule].map((k) => (k === undefined || obj.maps.policy.get(k)?.allow !== 1 ? "deny" : "allow"));
  console.log(`${"RULE".padEnd(6)}${"MATCHES".padEnd(34)}${"ACTION".padEnd(8)}DROPS`);
  drops().forEach((d, i) => console.log(`${String(i).padEnd(6)}${(rules[i] ?? "").padEnd(34)}${(actions[i] ?? "").padEnd(8)}${d}`));
} catch (err) {
  if (!signal.aborted) throw err;
}
console.log(`stopped; removing netns ${lab.namespaces().join(", ")}`);
