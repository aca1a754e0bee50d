import { expect } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { Collection } from "../../src/collection/collection.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { attachCgroup } from "../../src/link/cgroup.js";
import { attachSockmap } from "../../src/link/sockmap.js";
import { describeKernel, itKernel } from "./kit.js";
import { TestCgroup } from "./cgroup-env.js";
import { getU64 } from "./progs.js";

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
    // The kernel refuses BTF key/value types on sockhash maps: create it without BTF here.
    using socks = BpfMap.create({ name: "socks", type: "sockhash", keySize: 4, valueSize: 4, maxEntries: 16 });
    using coll = Collection.load(spec, { maps: { socks } });
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
