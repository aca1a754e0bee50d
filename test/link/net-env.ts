/**
 * A two-namespace test network: `a` and `b` joined by a veth pair (`va` in a with 10.x.y.1,
 * `vb` in b with 10.x.y.2), and a UDP sender built on raw syscalls so traffic is synchronous.
 * Everything is removed by `remove()` (deleting the namespaces deletes the veth pair).
 */
import { NativeMemory, SYS, syscall3, errno } from "../../src/sys/libc.js";
import { withNetns } from "../../src/sys/netns.js";
import { sockaddrIn } from "../helpers/tcp.js";
import { TestNetns } from "./netns.js";

export { sockaddrIn };

let subnet = 0;

export class VethEnv implements Disposable {
  readonly a: TestNetns;
  readonly b: TestNetns;
  readonly ipA: string;
  readonly ipB: string;
  readonly ifA = "va";
  readonly ifB = "vb";

  constructor() {
    subnet += 1;
    const x = (process.pid % 200) + 20;
    const y = subnet % 250;
    this.ipA = `10.${x}.${y}.1`;
    this.ipB = `10.${x}.${y}.2`;
    this.a = new TestNetns("tla");
    try {
      this.b = new TestNetns("tlb");
    } catch (e) {
      this.a.remove();
      throw e;
    }
    try {
      this.a.ip("link", "add", this.ifA, "type", "veth", "peer", "name", this.ifB, "netns", this.b.name);
      this.a.ip("addr", "add", `${this.ipA}/24`, "dev", this.ifA);
      this.b.ip("addr", "add", `${this.ipB}/24`, "dev", this.ifB);
      this.a.ip("link", "set", this.ifA, "up");
      this.b.ip("link", "set", this.ifB, "up");
      this.a.ip("link", "set", "lo", "up");
      this.b.ip("link", "set", "lo", "up");
      // Static neighbours: no ARP, so every datagram leaves at once and counts are exact.
      const mac = (ns: TestNetns, dev: string) => (JSON.parse(ns.ip("-j", "link", "show", dev)) as Array<{ address: string }>)[0]!.address;
      this.a.ip("neigh", "add", this.ipB, "lladdr", mac(this.b, this.ifB), "dev", this.ifA, "nud", "permanent");
      this.b.ip("neigh", "add", this.ipA, "lladdr", mac(this.a, this.ifA), "dev", this.ifB, "nud", "permanent");
    } catch (e) {
      this.remove();
      throw e;
    }
  }

  /** Send `count` UDP datagrams from namespace a to b's address. Returns how many were sent. */
  sendUdp(count: number, port = 9999, from: "a" | "b" = "a"): number {
    const ns = from === "a" ? this.a.name : this.b.name;
    const dst = from === "a" ? this.ipB : this.ipA;
    const other = from === "a" ? this.b.name : this.a.name;
    // A bound receiver, so the sender gets no ICMP port-unreachable (ECONNREFUSED on the next write).
    const rx = withNetns(other, () => udpReceiver(port));
    try {
      return withNetns(ns, () => sendUdp(dst, port, count));
    } finally {
      syscall3(SYS.close, rx, 0, 0);
    }
  }

  remove(): void {
    this.a.remove();
    this.b?.remove();
  }
  [Symbol.dispose](): void {
    this.remove();
  }
}

const SYS_CONNECT = 42;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;


/** A UDP socket bound to 0.0.0.0:port in the calling thread's namespace. Returns the raw fd (caller closes). */
export function udpReceiver(port: number): number {
  const fd = syscall3(SYS.socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: errno ${errno()}`);
  const sa = sockaddrIn("0.0.0.0", port);
  if (syscall3(SYS.bind, fd, sa.address, 16) < 0) {
    const e = errno();
    syscall3(SYS.close, fd, 0, 0);
    throw new Error(`bind: errno ${e}`);
  }
  return fd;
}

/** Send `count` UDP datagrams to ip:port from the calling thread's namespace. */
export function sendUdp(ip: string, port: number, count: number): number {
  const fd = syscall3(SYS.socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket: errno ${errno()}`);
  try {
    const sa = sockaddrIn(ip, port);
    const payload = new NativeMemory(32);
    // connect(2) then write(2): both fit the 3-argument syscall binding.
    if (syscall3(SYS_CONNECT, fd, sa.address, 16) < 0) throw new Error(`connect: errno ${errno()}`);
    let sent = 0;
    for (let i = 0; i < count; i++) {
      if (syscall3(SYS.write, fd, payload.address, 32) > 0) sent++;
    }
    return sent;
  } finally {
    syscall3(SYS.close, fd, 0, 0);
  }
}

/** Wait until `cond()` holds (polling every 10 ms), up to `ms`; returns whether it held. */
export async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
