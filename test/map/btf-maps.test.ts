/**
 * Map types and features that need BTF for their key and value: local storages, spin-locked
 * values (BPF_F_LOCK) and struct_ops. The BTF here is real: it describes exactly the key and
 * value layouts the codecs use, and is loaded with Btf.load.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmdirSync } from "node:fs";
import { expect, it } from "vitest";
import { struct, u32, s64 } from "../../src/codec.js";
import { isBpfError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Btf } from "../../src/map/btf.js";
import { Fd } from "../../src/sys/fd.js";
import { errno, SYS, syscall3 } from "../../src/sys/libc.js";
import { MapFlags } from "../../src/spec/map-spec.js";
import { describeKernel, uniqueName } from "../helpers/kernel.js";
import { tcpPair } from "./sockets.js";

const INT = 1; // int
const LONG_LONG = 2; // long long
const COUNTER = 3; // struct counter { long long count; }
const U32 = 4; // unsigned int
const SPIN_LOCK = 5; // struct bpf_spin_lock { unsigned int val; }
const LOCKED = 6; // struct locked { struct bpf_spin_lock lock; unsigned int data; }

function loadTypes(): Btf {
  const int = (name: string, size: number, signed: boolean) =>
    ({ kind: "int", name, size, signed, char: false, bool: false, bitOffset: 0, bits: size * 8 }) as const;
  return Btf.load([
    int("int", 4, true),
    int("long long", 8, true),
    { kind: "struct", name: "counter", size: 8, members: [{ name: "count", type: LONG_LONG, bitOffset: 0, bitfieldSize: 0 }] },
    int("unsigned int", 4, false),
    { kind: "struct", name: "bpf_spin_lock", size: 4, members: [{ name: "val", type: U32, bitOffset: 0, bitfieldSize: 0 }] },
    {
      kind: "struct",
      name: "locked",
      size: 8,
      members: [
        { name: "lock", type: SPIN_LOCK, bitOffset: 0, bitfieldSize: 0 },
        { name: "data", type: U32, bitOffset: 32, bitfieldSize: 0 },
      ],
    },
  ]);
}

const counter = struct([{ name: "count", codec: s64 }]);

/** A storage map keyed by an fd (socket, pidfd, file, cgroup) holding a struct counter. */
function storage(type: "sk_storage" | "task_storage" | "inode_storage" | "cgrp_storage", btf: Btf): BpfMap<number, { count: bigint }> {
  return BpfMap.create({
    type,
    key: u32,
    value: counter,
    maxEntries: 0,
    flags: MapFlags.NO_PREALLOC,
    btf: btf.fd.value,
    btfKeyTypeId: INT,
    btfValueTypeId: COUNTER,
  });
}

/** get, set, delete through a storage map whose keys are fds of the objects storage hangs on. */
function exercise(m: BpfMap<number, { count: bigint }>, fd: number): void {
  expect(m.get(fd)).toBeUndefined();
  m.set(fd, { count: 41n });
  expect(m.get(fd)).toEqual({ count: 41n });
  m.set(fd, { count: 42n }, "exist");
  expect(m.get(fd)).toEqual({ count: 42n });
  expect(m.delete(fd)).toBe(true);
  expect(m.get(fd)).toBeUndefined();
}

describeKernel("maps with BTF", () => {
  it("sk_storage: values hang on sockets, keyed by socket fd", async () => {
    using btf = loadTypes();
    using m = storage("sk_storage", btf);
    expect(m.info()).toMatchObject({ typeName: "sk_storage", btfKeyTypeId: INT, btfValueTypeId: COUNTER });
    const pair = await tcpPair();
    try {
      exercise(m, pair.clientFd);
    } finally {
      await pair.close();
    }
  });

  it("task_storage: values hang on tasks, keyed by pidfd", () => {
    using btf = loadTypes();
    using m = storage("task_storage", btf);
    const pidfd = syscall3(434 /* pidfd_open */, process.pid, 0, 0);
    if (pidfd < 0) throw new Error(`pidfd_open failed: errno ${errno()}`);
    using owned = new Fd(pidfd, "pidfd");
    exercise(m, owned.value);
  });

  it("inode_storage: values hang on inodes, keyed by a file's fd", () => {
    using btf = loadTypes();
    using m = storage("inode_storage", btf);
    const fd = openSync("/proc/self/exe", "r");
    try {
      exercise(m, fd);
    } finally {
      closeSync(fd);
    }
  });

  it("cgrp_storage: values hang on cgroups, keyed by a cgroup directory fd", () => {
    using btf = loadTypes();
    using m = storage("cgrp_storage", btf);
    const dir = `/sys/fs/cgroup/unified/${uniqueName("tsbpf_cgrp")}`;
    mkdirSync(dir);
    const fd = openSync(dir, "r");
    try {
      exercise(m, fd);
    } finally {
      closeSync(fd);
      rmdirSync(dir);
    }
  });

  it("BPF_F_LOCK reads and writes values holding a bpf_spin_lock (the lock word stays the kernel's)", () => {
    using btf = loadTypes();
    const locked = struct([{ name: "lock", codec: u32 }, { name: "data", codec: u32 }]);
    using m = BpfMap.create({
      type: "hash", key: u32, value: locked, maxEntries: 4, btf: btf.fd.value, btfKeyTypeId: INT, btfValueTypeId: LOCKED,
    });
    m.set(1, { lock: 0, data: 5 });
    m.set(1, { lock: 0, data: 6 }, { mode: "exist", lock: true });
    expect(m.get(1, { lock: true })).toEqual({ lock: 0, data: 6 });
    expect(m.get(1)).toEqual({ lock: 0, data: 6 });
    // Batch updates take the lock flag too.
    m.updateBatch([1, 2], [{ lock: 0, data: 7 }, { lock: 0, data: 8 }], { lock: true });
    expect(m.get(2, { lock: true })?.data).toBe(8);
  });

  it("struct_ops: a map whose value is a kernel struct (tcp_congestion_ops), by its vmlinux BTF id", () => {
    const raw = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"], {
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
    });
    const m1 = /^\[(\d+)\] STRUCT 'bpf_struct_ops_tcp_congestion_ops' size=(\d+)/m.exec(raw)!;
    const [id, size] = [Number(m1[1]), Number(m1[2])];
    // The kernel wants the program's own BTF too (btf_fd), even though the value is vmlinux's.
    using btf = loadTypes();
    using m = BpfMap.create({
      name: "cc_ops", type: "struct_ops", key: u32, valueSize: size, maxEntries: 1, btf: btf.fd.value, btfVmlinuxValueTypeId: id,
    });
    expect(m.info()).toMatchObject({ typeName: "struct_ops", valueSize: size, btfVmlinuxValueTypeId: id });
    // Nothing registered yet: the value reads back zeroed (state BPF_STRUCT_OPS_STATE_INIT).
    const v = m.get(0)!;
    expect(v.length).toBe(size);
    expect(v.every((b) => b === 0)).toBe(true);
    // Registering needs programs for the ops' function pointers: an empty value is refused.
    let err: unknown;
    try {
      m.set(0, new Uint8Array(size));
    } catch (e) {
      err = e;
    }
    expect(isBpfError(err)).toBe(true);
  });
});
