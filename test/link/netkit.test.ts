import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect } from "vitest";
import { Program, type StatsHandle } from "../../src/program/program.js";
import { attachNetkit, queryNetkit } from "../../src/link/netkit.js";
import { withNetns } from "../../src/sys/netns.js";
import { isRoot } from "../helpers/kernel.js";
import { KNOWN_LIMITS } from "../helpers/known-limits.js";
import { describeKernel, itKernel } from "./kit.js";
import { TestNetns } from "./netns.js";
import { createNetkit, netkitRefusal } from "./netkit-env.js";
import { sendUdp, udpReceiver, VethEnv } from "./net-env.js";
import { retProgram, runs } from "./progs.js";
import { SYS, syscall3 } from "../../src/sys/libc.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

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
