import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect } from "vitest";
import { Program, type StatsHandle } from "../../src/program/program.js";
import { attachNetkit, queryNetkit } from "../../src/link/netkit.js";
import { IFLA, IFLA_INFO, ifinfomsg } from "../../src/sys/rtnetlink.js";
import { NetlinkBuilder, NetlinkError, NetlinkSocket, NLM_F, RTM } from "../../src/sys/netlink.js";
import { openPath } from "../../src/sys/fd.js";
import { withNetns } from "../../src/sys/netns.js";
import { isRoot } from "../helpers/kernel.js";
import { KNOWN_LIMITS } from "../helpers/known-limits.js";
import { recordRefusal } from "../helpers/probes.js";
import { describeKernel, itKernel } from "./kit.js";
import { TestNetns } from "./netns.js";
import { sendUdp, udpReceiver, VethEnv } from "./net-env.js";
import { retProgram, runs } from "./progs.js";
import { SYS, syscall3 } from "../../src/sys/libc.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

const IFLA_NETKIT_PEER_INFO = 1;

/** Create netkit pair `nk0` (in a) ↔ `nk1` (in b) over rtnetlink, in L3 mode (the default). */
function createNetkit(a: TestNetns, b: TestNetns): void {
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
function netkitRefusal(): NetlinkError | undefined {
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

describeKernel("netkit", () => {
  const refusal = isRoot ? netkitRefusal() : undefined;
  const available = isRoot && refusal === undefined;

  itKernel(`without CONFIG_NETKIT (known limit here: ${KNOWN_LIMITS.netkit.reason}) attaching to another device is EINVAL`, () => {
    if (available) return; // the run test below covers kernels with netkit
    using env = new VethEnv();
    using p = retProgram("sched_cls", -1, "nk_veth");
    expect(() => attachNetkit(p, { interface: env.ifB, side: "primary", netns: env.b.name })).toThrow(
      /EINVAL from BPF_LINK_CREATE \(the device is not a netkit device/,
    );
    expect(() => attachNetkit(p, { interface: env.ifB, side: "middle" as never })).toThrow(TypeError);
  });

  itKernel("runs a peer-side program on what the peer sends, in order, and detaches (or netkit devices are refused exactly as probed)", () => {
    if (refusal) {
      // This kernel has no netkit: creating a pair is refused as the probe saw, every time.
      using a = new TestNetns("tnkr");
      using b = new TestNetns("tnks");
      expect(() => createNetkit(a, b)).toThrow(expect.objectContaining({ code: refusal.code, kernelMessage: "Unknown device type" }));
      return;
    }
    using a = new TestNetns("tnka");
    using b = new TestNetns("tnkb");
    createNetkit(a, b);
    a.ip("addr", "add", "10.77.0.1/24", "dev", "nk0");
    b.ip("addr", "add", "10.77.0.2/24", "dev", "nk1");
    a.ip("link", "set", "nk0", "up");
    b.ip("link", "set", "nk1", "up");
    using p1 = retProgram("sched_cls", -1, "nk_one"); // NETKIT_NEXT
    using p2 = retProgram("sched_cls", -1, "nk_two");
    const l1 = attachNetkit(p1, { interface: "nk0", side: "peer", netns: a.name });
    const l2 = attachNetkit(p2, { interface: "nk0", side: "peer", netns: a.name, before: "first" });
    try {
      const q = queryNetkit("nk0", "peer", a.name);
      expect(q.programIds).toEqual([p2.info().id, p1.info().id]);
      expect(q.linkIds).toEqual([l2.id, l1.id]);
      expect(l1.info()).toMatchObject({ type: "netkit", attachType: "netkit_peer" });
      expect(JSON.parse(execFileSync("bpftool", ["-j", "link", "show", "id", String(l1.id)], { encoding: "utf8" }))).toMatchObject({ id: l1.id, type: 13, prog_id: p1.info().id });
      const rx = withNetns(a.name, () => udpReceiver(7000));
      try {
        const before = runs(p1);
        withNetns(b.name, () => sendUdp("10.77.0.1", 7000, 8));
        expect(runs(p1) - before).toBe(8n);
      } finally {
        syscall3(SYS.close, rx, 0, 0);
      }
    } finally {
      l1.close();
      l2.close();
    }
    expect(queryNetkit("nk0", "peer", a.name).programIds).toEqual([]);
  });
});
