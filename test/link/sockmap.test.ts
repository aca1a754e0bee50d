import { expect } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { Collection } from "../../src/collection/collection.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { attachCgroup } from "../../src/link/cgroup.js";
import { attachSockmap } from "../../src/link/sockmap.js";
import { describeKernel, itKernel } from "./kit.js";
import { TestCgroup } from "./cgroup-env.js";
import { getU64, retProgram } from "./progs.js";
import { Program } from "../../src/program/program.js";
import { NativeMemory, SYS, syscall3, syscall5 } from "../../src/sys/libc.js";
import { sockaddrIn } from "./net-env.js";

/** A child in the cgroup: a TCP server and a client on loopback; the client sends once and both report what they received. */
function tcpExchange(port: number): string {
  return `
const net = require("net");
let serverGot = "", clientGot = "";
const srv = net.createServer((c) => c.on("data", (d) => (serverGot += d)));
srv.listen(${port}, "127.0.0.1", () => {
  const cl = net.connect(${port}, "127.0.0.1", () => cl.write("ping-redirect"));
  cl.on("data", (d) => (clientGot += d));
  setTimeout(() => { console.log(JSON.stringify({ serverGot, clientGot })); process.exit(0); }, 400);
});`;
}

const u64 = (map: BpfMap<any, any>, k: number) => getU64(map, k);

describeKernel("sockops + sk_msg on a sockhash", () => {
  itKernel("redirects what a client sends back into its own socket, and stops after close", () => {
    using cg = new TestCgroup();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const spec = CollectionSpec.fromFile(new URL("../../bpf/link/sockmap_redirect.o", import.meta.url).pathname);
    spec.variables.port!.value = port;
    using coll = Collection.load(spec);
    const socks = coll.maps.socks!;
    const ops = attachCgroup(coll.programs.track!, { cgroup: cg.path, attachType: "cgroup_sock_ops" });
    const msg = attachSockmap(coll.programs.echo!, { map: socks, attachType: "sk_msg_verdict" });
    try {
      expect(msg.info()).toMatchObject({ type: "sockmap", attachType: "sk_msg_verdict", programId: coll.programs.echo!.info().id });
      const r = JSON.parse(cg.runNode(tcpExchange(port)));
      expect(r).toEqual({ serverGot: "", clientGot: "ping-redirect" });
      expect(u64(coll.maps.stats!, 0)).toBe(2n); // both ends were put in the sockhash
      expect(u64(coll.maps.stats!, 1)).toBeGreaterThanOrEqual(1n);
    } finally {
      msg.close();
      ops.close();
    }
    const r = JSON.parse(cg.runNode(tcpExchange(port + 1)));
    expect(r).toEqual({ serverGot: "ping-redirect", clientGot: "" });
  });
});

describeKernel("sk_skb on a sockmap", () => {
  itKernel("a stream verdict program sees what a socket in the map receives, and detaches", () => {
    using stats = Program.enableStats();
    using map = BpfMap.create({ name: "skb_socks", type: "sockmap", keySize: 4, valueSize: 4, maxEntries: 2 });
    using verdict = retProgram("sk_skb", 1, "skb_pass"); // SK_PASS
    const link = attachSockmap(verdict, { map, attachType: "sk_skb_stream_verdict" });
    const srv = syscall3(SYS.socket, 2, 1 | 0o2000000, 0);
    const cl = syscall3(SYS.socket, 2, 1 | 0o2000000, 0);
    let acc = -1;
    try {
      expect(link.info()).toMatchObject({ type: "sockmap", attachType: "sk_skb_stream_verdict" });
      const sa = sockaddrIn("127.0.0.1", 0);
      expect(syscall3(SYS.bind, srv, sa.address, 16)).toBe(0);
      expect(syscall3(50 /* listen */, srv, 4, 0)).toBe(0);
      const len = new NativeMemory(4);
      len.view.setUint32(0, 16, true);
      expect(syscall3(SYS.getsockname, srv, sa.address, len.address)).toBe(0);
      expect(syscall3(42 /* connect */, cl, sa.address, 16)).toBe(0);
      acc = syscall3(43 /* accept */, srv, 0, 0);
      expect(acc).toBeGreaterThan(0);
      const key = new Uint8Array(4);
      const fdBytes = new Uint8Array(4);
      new DataView(fdBytes.buffer).setUint32(0, acc, true);
      map.set(key, fdBytes);
      const buf = new NativeMemory(64);
      buf.bytes.set(new TextEncoder().encode("hello"));
      const before = verdict.info().runCount;
      expect(syscall3(SYS.write, cl, buf.address, 5)).toBe(5);
      const got = new NativeMemory(64);
      let n = -1;
      for (let i = 0; i < 100 && n < 0; i++) n = syscall5(SYS.recvfrom, acc, got.address, 64, 0x40 /* MSG_DONTWAIT */, 0);
      expect(n).toBe(5);
      expect(new TextDecoder().decode(got.bytes.subarray(0, 5))).toBe("hello");
      expect(verdict.info().runCount - before).toBeGreaterThanOrEqual(1n);
    } finally {
      link.close();
      for (const fd of [cl, srv, acc]) if (fd >= 0) syscall3(SYS.close, fd, 0, 0);
    }
    expect(stats.closed).toBe(false);
  });
});
