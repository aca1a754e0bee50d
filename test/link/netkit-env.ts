/**
 * A netkit pair for tests (`nk0` in namespace a ↔ `nk1` in b, L3 mode), and the machine's
 * refusal to make one: a kernel without CONFIG_NETKIT answers "Unknown device type". The
 * smallest attempt needs two namespaces, so the probe lives here rather than in src/features.
 */
import { IFLA, IFLA_INFO, ifinfomsg } from "../../src/sys/rtnetlink.js";
import { NetlinkBuilder, NetlinkError, NetlinkSocket, NLM_F, RTM } from "../../src/sys/netlink.js";
import { openPath } from "../../src/sys/fd.js";
import { withNetns } from "../../src/sys/netns.js";
import { KNOWN_LIMITS } from "../helpers/known-limits.js";
import { recordRefusal } from "../helpers/probes.js";
import { TestNetns } from "./netns.js";

const IFLA_NETKIT_PEER_INFO = 1;

/** Create netkit pair `nk0` (in a) ↔ `nk1` (in b) over rtnetlink, in L3 mode (the default). */
export function createNetkit(a: TestNetns, b: TestNetns): void {
  using bns = openPath(`/var/run/netns/${b.name}`);
  withNetns(a.name, () => {
    using sock = NetlinkSocket.open();
    const body = new NetlinkBuilder(ifinfomsg())
      .string(IFLA.IFNAME, "nk0")
      .nest(IFLA.LINKINFO, (li) =>
        li.string(IFLA_INFO.KIND, "netkit").nest(IFLA_INFO.DATA, (d) =>
          d.nest(IFLA_NETKIT_PEER_INFO, (p) => p.bytes(ifinfomsg()).string(IFLA.IFNAME, "nk1").u32(IFLA.NET_NS_FD, bns.value)),
        ),
      )
      .finish();
    sock.request(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, { context: "netkit: create" });
  });
}

/**
 * The machine's refusal to create a netkit pair (a kernel without CONFIG_NETKIT), recorded for
 * the run's summary; undefined when it can. Any other error is thrown.
 */
export function netkitRefusal(): NetlinkError | undefined {
  using a = new TestNetns("tnkp");
  using b = new TestNetns("tnkq");
  try {
    createNetkit(a, b);
    return undefined;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === KNOWN_LIMITS.netkit.errno && e.kernelMessage === "Unknown device type") {
      recordRefusal({ feature: "netkit", code: e.code, message: e.message, reason: KNOWN_LIMITS.netkit.reason });
      return e;
    }
    throw e;
  }
}
