/**
 * Test-only rtnetlink helpers: create and delete veth pairs and other interfaces. The library
 * never creates interfaces, so these live beside the tests, built on src/sys/netlink.ts.
 */
import { NLM_F, NetlinkBuilder, RTM, type NetlinkSocket } from "../../src/sys/netlink.js";
import { ifinfomsg, IFLA, IFLA_INFO } from "../../src/sys/rtnetlink.js";

/** `VETH_INFO_PEER` inside IFLA_INFO_DATA of a veth. */
export const VETH_INFO_PEER = 1;

/** Create a veth pair `name` ↔ `peer` (RTM_NEWLINK, exclusive). Throws NetlinkError (EEXIST…). */
export function createVeth(sock: NetlinkSocket, name: string, peer: string): void {
  const body = new NetlinkBuilder(ifinfomsg())
    .string(IFLA.IFNAME, name)
    .nest(IFLA.LINKINFO, (b) =>
      b.string(IFLA_INFO.KIND, "veth").nest(IFLA_INFO.DATA, (d) =>
        d.nest(VETH_INFO_PEER, (p) => p.bytes(ifinfomsg()).string(IFLA.IFNAME, peer)),
      ),
    )
    .finish();
  sock.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, { context: `veth ${name}/${peer}: create` });
}

/** Delete an interface by name or index (RTM_DELLINK). Throws NetlinkError (ENODEV…). */
export function deleteInterface(sock: NetlinkSocket, nameOrIndex: string | number): void {
  const body =
    typeof nameOrIndex === "number"
      ? new NetlinkBuilder(ifinfomsg({ index: nameOrIndex })).finish()
      : new NetlinkBuilder(ifinfomsg()).string(IFLA.IFNAME, nameOrIndex).finish();
  sock.request(RTM.DELLINK, 0, body, { context: `interface ${JSON.stringify(nameOrIndex)}: delete` });
}
