import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { attrMap, NetlinkBuilder, NetlinkError, NetlinkSocket, NLM_F, parseAttrs, RTM } from "../../src/sys/netlink.js";
import { createVeth, deleteInterface } from "../helpers/veth.js";
import { getInterface, ifinfomsg, interfaceIndex, IFLA, IFLA_INFO, listInterfaces } from "../../src/sys/rtnetlink.js";
import { withNetns } from "../../src/sys/netns.js";
import { describeKernel, isFdOpen } from "../helpers/kernel.js";
import { TestNetns } from "./netns.js";
import fc from "fast-check";

describe("netlink message building", () => {
  it("pads attributes to 4 bytes and fills nested lengths", () => {
    const b = new NetlinkBuilder(ifinfomsg({ index: 7 }))
      .string(IFLA.IFNAME, "ab")
      .nest(IFLA.LINKINFO, (n) => n.string(IFLA_INFO.KIND, "veth"))
      .finish();
    expect(b.length).toBe(16 + 8 + (4 + 12));
    const attrs = parseAttrs(b.subarray(16));
    expect(attrs.map((a) => a.type)).toEqual([IFLA.IFNAME, IFLA.LINKINFO]);
    expect(new TextDecoder().decode(attrs[0]!.data)).toBe("ab\0");
    const inner = attrMap(attrs[1]!.data);
    expect(new TextDecoder().decode(inner.get(IFLA_INFO.KIND))).toBe("veth\0");
  });

  it("never reads past the end of hostile attribute bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const attrs = parseAttrs(bytes);
        let total = 0;
        for (const a of attrs) total += a.data.length + 4;
        expect(total).toBeLessThanOrEqual(bytes.length);
      }),
    );
  });
});

describeKernel("rtnetlink", () => {
  it("finds lo's index and lists it", () => {
    expect(interfaceIndex("lo")).toBe(1);
    using sock = NetlinkSocket.open();
    const all = listInterfaces(sock);
    expect(all.find((l) => l.index === 1)?.name).toBe("lo");
    expect(getInterface(sock, 1).name).toBe("lo");
  });

  it("creates and deletes a veth pair inside a test network namespace", () => {
    using ns = new TestNetns();
    withNetns(ns.name, () => {
      using sock = NetlinkSocket.open();
      createVeth(sock, "tva", "tvb");
      const a = getInterface(sock, "tva");
      const b = getInterface(sock, "tvb");
      expect(a.index).toBeGreaterThan(1);
      expect(b.index).not.toBe(a.index);
      // The pair is in the namespace, as `ip` sees it, and not in ours.
      expect(ns.ip("-o", "link", "show")).toContain("tva@tvb");
      deleteInterface(sock, "tva");
      expect(() => getInterface(sock, "tvb")).toThrow(NetlinkError);
    });
    expect(() => interfaceIndex("tva")).toThrow(/ENODEV/);
  });

  it("reports errors with the kernel's extended-ack message", () => {
    using sock = NetlinkSocket.open();
    const body = new NetlinkBuilder(ifinfomsg())
      .string(IFLA.IFNAME, "tsbpfbad0")
      .nest(IFLA.LINKINFO, (n) => n.string(IFLA_INFO.KIND, "no-such-kind"))
      .finish();
    let err: unknown;
    try {
      sock.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, { context: "test" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    const ne = err as NetlinkError;
    expect(ne.code).toBe("EOPNOTSUPP");
    expect(ne.kernelMessage).toBe("Unknown device type");
    expect(ne.message).toBe("test: EOPNOTSUPP from RTM_NEWLINK (kernel: Unknown device type)");
  });

  it("closes its socket", () => {
    const sock = NetlinkSocket.open();
    const n = sock.fd.value;
    sock.close();
    expect(isFdOpen(n)).toBe(false);
  });
});
