/**
 * Every map type of Linux 6.18 that userspace can create, each doing what that type does. The
 * last test checks that this file covers every name of MAP_TYPES.
 */
import { mkdirSync, openSync, closeSync, rmdirSync, statSync } from "node:fs";
import { expect, it } from "vitest";
import {
  add64, call, exit, instructions, label, ldFunc, ldMapFd, mov64, st, R0, R1, R2, R3, R4, R6, R10,
} from "../../src/asm/builder.js";
import { array, bytes, objectFd, struct, u32, u64 } from "../../src/codec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { MAP_TYPES, type MapTypeName } from "../../src/spec/map-type.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { Program } from "../../src/program/program.js";
import { Fd } from "../../src/sys/fd.js";
import { MAP_SHARED, mmap, munmap, PROT_READ, PROT_WRITE, SYS, syscall3 } from "../../src/sys/libc.js";
import { Btf } from "../../src/map/btf.js";
import { progAttach } from "../../src/sys/link-attr.js";
import { MapFlags } from "../../src/spec/map-spec.js";
import { machineRefuses, refusalCodeOf } from "../helpers/probes.js";
import { PERF_COUNT_SW, PERF_SAMPLE_RAW, PERF_TYPE, perfEventOpen } from "../../src/sys/perf-event.js";
import { describeKernel, uniqueName } from "../helpers/kernel.js";
import { reuseportUdpSocket, socketCookie, tcpPair } from "./sockets.js";
import { bpfErrorOf } from "../helpers/errors.js";

const covered = new Set<MapTypeName>();
const PAGE = 4096;

/** `it` that records which map types it covers. */
function itTypes(types: MapTypeName[], name: string, fn: () => void | Promise<void>): void {
  for (const t of types) covered.add(t);
  it(`${types.join(", ")}: ${name}`, fn);
}

const XDP_PASS = 2;

describeKernel("map types", () => {
  itTypes(["hash"], "maps keys to values", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 4 });
    m.set(10, 1n);
    m.set(20, 2n);
    expect(new Map(m.entries())).toEqual(new Map([[10, 1n], [20, 2n]]));
  });

  itTypes(["array"], "holds max_entries zeroed values indexed from 0", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u64, maxEntries: 3 });
    m.set(2, 9n);
    expect([...m.entries()]).toEqual([[0, 0n], [1, 0n], [2, 9n]]);
  });

  itTypes(["percpu_hash", "percpu_array"], "hold one value per possible CPU", () => {
    const cpus = possibleCpus();
    const v = Array.from({ length: cpus }, (_, i) => BigInt(i * 100 + 1));
    using h = BpfMap.create({ type: "percpu_hash", key: u32, value: u64, maxEntries: 4 });
    h.set(1, v);
    expect(h.get(1)).toEqual(v);
    using a = BpfMap.create({ type: "percpu_array", key: u32, value: u64, maxEntries: 2 });
    a.set(1, v);
    expect([...a.values()]).toEqual([new Array(cpus).fill(0n), v]);
  });

  itTypes(["lru_hash"], "evicts the least recently used keys instead of failing when full", () => {
    using m = BpfMap.create({ type: "lru_hash", key: u32, value: u32, maxEntries: 64 });
    for (let i = 0; i < 1000; i++) m.set(i, i);
    const keys = [...m.keys()];
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThanOrEqual(64);
    expect(m.get(999)).toBe(999);
    expect(m.has(0)).toBe(false);
  });

  itTypes(["lru_percpu_hash"], "evicts like lru_hash, with per-CPU values", () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: "lru_percpu_hash", key: u32, value: u32, maxEntries: 32 });
    for (let i = 0; i < 500; i++) m.set(i, new Array(cpus).fill(i));
    expect([...m.keys()].length).toBeLessThanOrEqual(32);
    expect(m.get(499)).toEqual(new Array(cpus).fill(499));
  });

  itTypes(["lpm_trie"], "finds the longest matching prefix", () => {
    const key = struct([{ name: "prefixlen", codec: u32 }, { name: "addr", codec: bytes(4) }]);
    using m = BpfMap.create({ type: "lpm_trie", key, value: u32, maxEntries: 16, flags: MapFlags.NO_PREALLOC });
    m.set({ prefixlen: 8, addr: new Uint8Array([10, 0, 0, 0]) }, 8);
    m.set({ prefixlen: 16, addr: new Uint8Array([10, 1, 0, 0]) }, 16);
    expect(m.get({ prefixlen: 32, addr: new Uint8Array([10, 1, 2, 3]) })).toBe(16);
    expect(m.get({ prefixlen: 32, addr: new Uint8Array([10, 2, 2, 3]) })).toBe(8);
    expect(m.get({ prefixlen: 32, addr: new Uint8Array([11, 0, 0, 1]) })).toBeUndefined();
    expect([...m.values()].sort()).toEqual([16, 8]);
  });

  itTypes(["queue", "stack"], "pop in FIFO and LIFO order, refuse when full, overwrite with mode exist", () => {
    using q = BpfMap.create({ type: "queue", value: u32, maxEntries: 3 });
    using s = BpfMap.create({ type: "stack", value: u32, maxEntries: 3 });
    for (const v of [1, 2, 3]) {
      q.push(v);
      s.push(v);
    }
    expect(bpfErrorOf(() => q.push(4)).code).toBe("E2BIG");
    q.push(4, "exist"); // drops the oldest (1)
    expect(q.peek()).toBe(2);
    expect([q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([2, 3, 4, undefined]);
    expect(s.peek()).toBe(3);
    expect([s.pop(), s.pop(), s.pop(), s.pop()]).toEqual([3, 2, 1, undefined]);
    expect(() => q.get(0 as never)).toThrow(/queue maps have no keys: use push\/pop\/peek/);
    expect(() => q.contains(1)).toThrow(TypeError);
  });

  itTypes(["bloom_filter"], "answers 'maybe' for every pushed value and 'no' for others", () => {
    using b = BpfMap.create({ type: "bloom_filter", value: u32, maxEntries: 100, mapExtra: 3 });
    expect(b.info().mapExtra).toBe(3n);
    for (let i = 0; i < 50; i++) b.push(i * 7);
    for (let i = 0; i < 50; i++) expect(b.contains(i * 7)).toBe(true);
    let no = 0;
    for (let i = 0; i < 200; i++) if (!b.contains(100000 + i)) no++;
    expect(no).toBeGreaterThan(100); // false positives are rare at this load
    expect(() => b.pop()).toThrow(); // a bloom filter cannot give values back
    expect(() => b.peek()).toThrow(/use contains/);
  });

  itTypes(["prog_array"], "holds programs by fd and gives back their ids", () => {
    using prog = Program.load({ type: "xdp", instructions: instructions(mov64(R0, XDP_PASS), exit()) });
    using m = BpfMap.create({ type: "prog_array", key: u32, value: objectFd, maxEntries: 4 });
    m.set(1, prog);
    expect(m.get(1)).toBe(prog.info().id);
    expect(m.get(0)).toBeUndefined();
    const notProg = bpfErrorOf(() => m.set(2, 0)); // fd 0 is not a program
    expect(notProg.code).toBe("EINVAL");
    expect(notProg.message).toContain("the value must be the fd of an object this map can hold");
    expect(m.delete(1)).toBe(true);
    expect(m.get(1)).toBeUndefined();
  });

  itTypes(["perf_event_array"], "holds perf event fds, one slot per CPU", () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: "perf_event_array", key: u32, value: objectFd, maxEntries: cpus });
    using ev = perfEventOpen(
      { type: PERF_TYPE.software, config: BigInt(PERF_COUNT_SW.bpf_output), sampleType: BigInt(PERF_SAMPLE_RAW), samplePeriod: 1n },
      -1, 0, "bpf output",
    );
    m.set(0, ev.value);
    // Userspace cannot read perf event slots back: the kernel has no lookup for them.
    expect(bpfErrorOf(() => m.get(0)).code).toBe("ENOTSUPP");
    expect(m.delete(0)).toBe(true);
    expect(m.delete(0)).toBe(false);
    // Without max_entries it gets one slot per possible CPU, as libbpf gives it.
    using sized = BpfMap.create({ type: "perf_event_array", key: u32, value: objectFd });
    expect(sized.maxEntries).toBe(cpus);
    expect(sized.info().maxEntries).toBe(cpus);
  });

  itTypes(["stack_trace"], "stores the stacks a program captures with bpf_get_stackid", () => {
    const depth = 32;
    using stacks = BpfMap.create({ type: "stack_trace", key: u32, value: array(u64, depth), maxEntries: 16 });
    using prog = Program.load(
      {
        type: "raw_tracepoint",
        instructions: instructions(ldMapFd(R2, "stacks"), mov64(R3, 0), call("get_stackid"), exit()),
      },
      { maps: { stacks: stacks.fd } },
    );
    const id = prog.run({ ctx: new Uint8Array(8) }).retval;
    expect(id).toBeLessThan(16);
    const ips = stacks.get(id);
    expect(ips).toBeDefined();
    expect(ips![0]).toBeGreaterThan(0xffff000000000000n); // a kernel text address
    expect([...stacks.keys()]).toEqual([id]);
    expect(stacks.delete(id)).toBe(true);
    expect(stacks.get(id)).toBeUndefined();
  });

  itTypes(["cgroup_array"], "holds cgroup fds", () => {
    using m = BpfMap.create({ type: "cgroup_array", key: u32, value: objectFd, maxEntries: 2 });
    const cg = openSync("/sys/fs/cgroup/unified", "r");
    try {
      m.set(1, cg);
      expect(bpfErrorOf(() => m.get(1)).code).toBe("ENOTSUPP");
      expect(m.delete(1)).toBe(true);
      expect(m.delete(1)).toBe(false);
    } finally {
      closeSync(cg);
    }
  });

  itTypes(["array_of_maps", "hash_of_maps"], "hold inner maps by fd and give back their ids", () => {
    const inner = { type: "array", key: u32, value: u32, maxEntries: 4 } as const;
    using a = BpfMap.create({ type: "array_of_maps", key: u32, value: objectFd, maxEntries: 2, innerMap: inner });
    using h = BpfMap.create({ type: "hash_of_maps", key: u32, value: objectFd, maxEntries: 2, innerMap: inner });
    using in1 = BpfMap.create(inner);
    a.set(0, in1);
    h.set(42, in1.fd);
    expect(a.get(0)).toBe(in1.id);
    expect(h.get(42)).toBe(in1.id);
    // An inner map of another shape is refused.
    using wrong = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 4 });
    expect(bpfErrorOf(() => a.set(1, wrong)).code).toBe("EINVAL");
    // A live map works as the template too.
    using b = BpfMap.create({ type: "array_of_maps", key: u32, value: objectFd, maxEntries: 1, innerMap: in1 });
    b.set(0, in1);
    expect([...h.entries()]).toEqual([[42, in1.id]]);
  });

  itTypes(["devmap", "devmap_hash"], "hold interfaces by ifindex (lo is 1)", () => {
    using d = BpfMap.create({ type: "devmap", key: u32, value: u32, maxEntries: 4 });
    d.set(0, 1);
    expect(d.get(0)).toBe(1);
    expect(bpfErrorOf(() => d.set(1, 0x7ffffff0)).code).toBe("EINVAL"); // no such interface
    const val = struct([{ name: "ifindex", codec: u32 }, { name: "prog", codec: u32 }]);
    using h = BpfMap.create({ type: "devmap_hash", key: u32, value: val, maxEntries: 4 });
    h.set(777, { ifindex: 1, prog: 0 });
    expect(h.get(777)).toEqual({ ifindex: 1, prog: 0 });
    expect([...h.keys()]).toEqual([777]);
    expect(h.delete(777)).toBe(true);
  });

  itTypes(["cpumap"], "holds a queue size per CPU", () => {
    using c = BpfMap.create({ type: "cpumap", key: u32, value: u32, maxEntries: possibleCpus() });
    c.set(0, 192);
    expect(c.get(0)).toBe(192);
    expect(c.delete(0)).toBe(true);
  });

  itTypes(["xskmap"], "holds AF_XDP sockets, and only those", () => {
    using x = BpfMap.create({ type: "xskmap", key: u32, value: objectFd, maxEntries: 4 });
    using udp = reuseportUdpSocket();
    expect(bpfErrorOf(() => x.set(0, udp.value)).code).toBe("EOPNOTSUPP");
    const xsk = syscall3(SYS.socket, 44 /* AF_XDP */, 3 /* SOCK_RAW */, 0);
    expect(xsk).toBeGreaterThanOrEqual(0);
    using xskFd = new Fd(xsk, "xsk");
    x.set(1, xskFd.value);
    // Userspace cannot read sockets back out of an xskmap.
    expect(bpfErrorOf(() => x.get(1)).code).toBe("EOPNOTSUPP");
    expect([...x.keys()]).toEqual([0, 1, 2, 3]);
    expect(x.delete(1)).toBe(true);
  });

  itTypes(["sockmap", "sockhash"], "hold established TCP sockets and give back their cookies", async () => {
    const pair = await tcpPair();
    try {
      using sm = BpfMap.create({ type: "sockmap", key: u32, value: u64, maxEntries: 4 });
      using sh = BpfMap.create({ type: "sockhash", key: u32, value: u64, maxEntries: 4 });
      sm.set(0, BigInt(pair.acceptedFd));
      sh.set(1234, BigInt(pair.clientFd));
      expect(sm.get(0)).toBe(socketCookie(pair.acceptedFd));
      expect(sh.get(1234)).toBe(socketCookie(pair.clientFd));
      expect(sm.get(1)).toBeUndefined();
      expect(bpfErrorOf(() => sh.set(5, BigInt(sm.fd))).code).toBe("ENOTSOCK"); // a map fd is not a socket
      expect(sh.delete(1234)).toBe(true);
      expect(sm.delete(0)).toBe(true);
    } finally {
      await pair.close();
    }
  });

  itTypes(["reuseport_sockarray"], "holds SO_REUSEPORT sockets and gives back their cookies", () => {
    using r = BpfMap.create({ type: "reuseport_sockarray", key: u32, value: u64, maxEntries: 2 });
    using s = reuseportUdpSocket();
    r.set(1, BigInt(s.value));
    expect(r.get(1)).toBe(socketCookie(s.value));
    expect(r.get(0)).toBeUndefined();
    expect(r.delete(1)).toBe(true);
  });

  itTypes(["cgroup_storage", "percpu_cgroup_storage"], "hold one value per attached cgroup program, readable by cgroup id", () => {
    const dir = `/sys/fs/cgroup/unified/${uniqueName("tsbpf_cgs")}`;
    mkdirSync(dir);
    const cgFd = openSync(dir, "r");
    try {
      const key = struct([{ name: "cgroupId", codec: u64 }, { name: "attachType", codec: u32 }]);
      using st1 = BpfMap.create({ type: "cgroup_storage", key, value: u64, maxEntries: 0 });
      using st2 = BpfMap.create({ type: "percpu_cgroup_storage", key, value: u64, maxEntries: 0 });
      const egress = 1; // BPF_CGROUP_INET_EGRESS
      const k = { cgroupId: BigInt(statSync(dir).ino), attachType: egress };
      expect(st1.get(k)).toBeUndefined();
      expect(bpfErrorOf(() => st1.set(k, 1n)).code).toBe("ENOENT"); // no storage until a program is attached
      // A cgroup_skb program that touches both storages: attaching it creates their elements.
      using prog = Program.load(
        {
          type: "cgroup_skb",
          expectedAttachType: "cgroup_inet_egress",
          instructions: instructions(
            mov64(R6, R1),
            ldMapFd(R1, "st1"), mov64(R2, 0), call("get_local_storage"),
            mov64(R1, R6),
            ldMapFd(R1, "st2"), mov64(R2, 0), call("get_local_storage"),
            mov64(R0, 1), exit(),
          ),
        },
        { maps: { st1: st1.fd, st2: st2.fd } },
      );
      progAttach({ target: cgFd, progFd: prog.fd, attachType: egress, flags: 0 }, "attach cgroup_skb");
      expect(st1.get(k)).toBe(0n);
      st1.set(k, 5n);
      expect(st1.get(k)).toBe(5n);
      const cpus = possibleCpus();
      st2.set(k, Array.from({ length: cpus }, (_, i) => BigInt(i + 1)));
      expect(st2.get(k)).toEqual(Array.from({ length: cpus }, (_, i) => BigInt(i + 1)));
      expect([...st1.keys()]).toEqual([k]);
    } finally {
      closeSync(cgFd);
      rmdirSync(dir);
    }
  });

  itTypes(["ringbuf"], "carries records a program submits to the mmapped consumer", () => {
    using rb = BpfMap.create({ type: "ringbuf", maxEntries: PAGE });
    using prog = Program.load(
      {
        type: "xdp",
        instructions: instructions(
          st("u64", R10, -8, 0x1234),
          ldMapFd(R1, "rb"), mov64(R2, R10), add64(R2, -8), mov64(R3, 8), mov64(R4, 0), call("ringbuf_output"),
          mov64(R0, XDP_PASS), exit(),
        ),
      },
      { maps: { rb: rb.fd } },
    );
    prog.run({ data: new Uint8Array(64) });
    // Consumer page at 0 (read-write), then the producer page and the data pages twice (read-only).
    const prod = mmap(PAGE + 2 * PAGE, PROT_READ, MAP_SHARED, rb.fd, PAGE);
    try {
      const pv = new DataView(prod.buffer);
      expect(pv.getBigUint64(0, true)).toBe(16n); // one 8-byte header + 8 bytes of data
      expect(pv.getUint32(PAGE, true)).toBe(8); // record length, busy and discard bits clear
      expect(pv.getBigUint64(PAGE + 8, true)).toBe(0x1234n);
    } finally {
      munmap(prod);
    }
  });

  itTypes(["user_ringbuf"], "carries records userspace writes to a program that drains them", () => {
    using urb = BpfMap.create({ type: "user_ringbuf", maxEntries: PAGE });
    // The consumer page is read-only for userspace; producer page and data are writable.
    expect(() => mmap(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, urb.fd, 0)).toThrow(/EPERM/);
    const cons = mmap(PAGE, PROT_READ, MAP_SHARED, urb.fd, 0);
    const prod = mmap(PAGE + 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, urb.fd, PAGE);
    try {
      const pv = new DataView(prod.buffer);
      pv.setUint32(PAGE, 8, true); // header: length 8, not busy
      pv.setBigUint64(PAGE + 8, 99n, true);
      pv.setBigUint64(0, 16n, true); // publish: producer position past the record
      // bpf_user_ringbuf_drain takes a callback, and callbacks need BTF func info: real BTF
      // for the two functions (int prog(void *ctx); static int cb(void *dynptr, void *ctx)).
      using btf = Btf.load([
        { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 },
        { kind: "ptr", name: "", type: 0 },
        { kind: "func_proto", name: "", returnType: 1, params: [{ name: "ctx", type: 2 }] },
        { kind: "func", name: "prog", type: 3, linkage: "global" },
        { kind: "func_proto", name: "", returnType: 1, params: [{ name: "dynptr", type: 2 }, { name: "ctx", type: 2 }] },
        { kind: "func", name: "cb", type: 5, linkage: "static" },
      ]);
      const funcInfo = new Uint8Array(16);
      const fv = new DataView(funcInfo.buffer);
      fv.setUint32(0, 0, true); // prog at insn 0, type 4
      fv.setUint32(4, 4, true);
      fv.setUint32(8, 8, true); // cb at insn 8 (after two ld_imm64), type 6
      fv.setUint32(12, 6, true);
      using prog = Program.load(
        {
          type: "xdp",
          btf: { funcInfo },
          instructions: instructions(
            ldMapFd(R1, "urb"), ldFunc(R2, "cb"), mov64(R3, 0), mov64(R4, 0), call("user_ringbuf_drain"),
            exit(),
            label("cb"),
            mov64(R0, 0),
            exit(),
          ),
        },
        { maps: { urb: urb.fd }, btf: btf.fd.value },
      );
      expect(prog.run({ data: new Uint8Array(64) }).retval).toBe(1); // one record drained
      expect(new DataView(cons.buffer).getBigUint64(0, true)).toBe(16n); // consumer moved past it
      expect(prog.run({ data: new Uint8Array(64) }).retval).toBe(0); // nothing left
    } finally {
      munmap(prod);
      munmap(cons);
    }
  });

  itTypes(["arena"], "is memory shared with programs, faulted in page by page when userspace touches it (or refused exactly as probed)", () => {
    const create = () => BpfMap.create({ type: "arena", maxEntries: 4, flags: MapFlags.MMAPABLE });
    const refused = machineRefuses("arenaMaps");
    if (refused) {
      expect(refusalCodeOf(() => create().close())).toBe(refused.code);
      return;
    }
    using arena = create();
    const m = mmap(4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, arena.fd, 0);
    try {
      const v = new DataView(m.buffer);
      v.setUint32(2 * PAGE + 12, 0xdeadbeef, true);
      expect(v.getUint32(2 * PAGE + 12, true)).toBe(0xdeadbeef);
      expect(arena.info()).toMatchObject({ typeName: "arena", maxEntries: 4 });
    } finally {
      munmap(m);
    }
  });

  // These types need BTF for their key and value (or a kernel struct's BTF): without it the
  // kernel refuses them, and tsbpf reports that. test/map/btf-maps.test.ts creates and uses
  // each of them with real BTF.
  itTypes(["sk_storage", "inode_storage", "task_storage", "cgrp_storage", "struct_ops"], "are refused without BTF (btf-maps.test.ts uses them with BTF)", () => {
    for (const type of ["sk_storage", "inode_storage", "task_storage", "cgrp_storage"] as const) {
      const e = bpfErrorOf(() => BpfMap.create({ type, key: u32, value: u64, maxEntries: 0, flags: MapFlags.NO_PREALLOC }));
      expect(e.code).toBe("EINVAL");
      expect(e.command).toBe("BPF_MAP_CREATE");
    }
    const e = bpfErrorOf(() => BpfMap.create({ type: "struct_ops", key: u32, valueSize: 64, maxEntries: 1 }));
    expect(e.code).toBe("EINVAL");
  });

  it("covers every map type of Linux 6.18", () => {
    const all = Object.keys(MAP_TYPES).filter((t) => t !== "unspec").sort();
    expect([...covered].sort()).toEqual(all);
  });
});

