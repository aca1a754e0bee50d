/** The generic object commands of src/sys/obj.ts, exercised on maps. */
import { mkdirSync, rmSync } from "node:fs";
import { expect, it } from "vitest";
import { u32 } from "../../src/codec.js";
import { isBpfError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { NativeMemory } from "../../src/sys/libc.js";
import { MAP_INFO_SIZE } from "../../src/sys/map-attr.js";
import { BPF_F_RDONLY, getFdById, getNextId, listIds, objGet, objGetInfoByFd, objPin } from "../../src/sys/obj.js";
import { describeKernel, uniqueName } from "../helpers/kernel.js";

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isBpfError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describeKernel("object commands", () => {
  it("walks map ids in increasing order, including a new map, and ends with undefined", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 1 });
    const ids = listIds("map");
    expect(ids).toContain(m.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(getNextId("map", ids[ids.length - 1]!)).toBeUndefined();
    expect(getNextId("map", 0x7fffffff)).toBeUndefined();
    expect(getNextId("map", m.id - 1)).toBe(m.id);
    expect(() => getNextId("maps" as never, 0)).toThrow(TypeError);
    expect(() => getNextId("map", -1)).toThrow(RangeError);
  });

  it("opens by id a map that is the same object, and says ENOENT for a missing id", () => {
    using m = BpfMap.create({ name: "by_id", type: "array", key: u32, value: u32, maxEntries: 1 });
    using fd = getFdById("map", m.id);
    expect(fd.value).not.toBe(m.fd);
    const info = new NativeMemory(MAP_INFO_SIZE);
    expect(objGetInfoByFd(fd, info)).toBe(MAP_INFO_SIZE);
    expect(info.view.getUint32(4, true)).toBe(m.id);
    expect(code(() => getFdById("map", 0x7ffffff0))).toBe("ENOENT");
    expect(code(() => getFdById("prog", 0x7ffffff0))).toBe("ENOENT");
  });

  it("fills no more than the buffer given to OBJ_GET_INFO_BY_FD", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 1 });
    const small = new NativeMemory(8);
    expect(objGetInfoByFd(m.fd, small)).toBe(8);
    expect(small.view.getUint32(0, true)).toBe(2); // type array
  });

  it("pins and gets with flags, and names the path on failure", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpf_obj")}`;
    mkdirSync(dir);
    try {
      using m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 1 });
      objPin(m.fd, `${dir}/m`);
      using ro = objGet(`${dir}/m`, BPF_F_RDONLY);
      using view = BpfMap.fromFd(ro.dup(), { key: u32, value: u32 });
      expect(view.get(0)).toBe(0);
      expect(code(() => view.set(0, 1))).toBe("EPERM");
      expect(code(() => objGet(`${dir}/missing`))).toBe("ENOENT");
      expect(code(() => objPin(m.fd, `${dir}/nodir/m`))).toBe("ENOENT");
      expect(() => objPin(m.fd, "")).toThrow(TypeError);
      expect(() => objGet(`${dir}/a\0b`)).toThrow(TypeError);
      try {
        objPin(m.fd, "/tmp/not_bpffs_pin");
      } catch (e) {
        expect((e as Error).message).toContain("pin at /tmp/not_bpffs_pin");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
