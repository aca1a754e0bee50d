import { expect, it } from "vitest";
import { add64, atomic, call, exit, instructions, jeq, label, ldMapFd, mov64, st, R0, R1, R2, R10 } from "../../src/asm/builder.js";
import { struct, u32, u64 } from "../../src/codec.js";
import { ClosedError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { MapFlags } from "../../src/spec/map-spec.js";
import { describeKernel } from "../helpers/kernel.js";

describeKernel("mmapped arrays", () => {
  it("shares elements with syscalls and with programs, without copies", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u64, maxEntries: 8, flags: MapFlags.MMAPABLE });
    using view = m.mmap();
    expect(view.length).toBe(8);
    view.set(3, 33n);
    expect(m.get(3)).toBe(33n);
    m.set(4, 44n);
    expect(view.get(4)).toBe(44n);
    // A program increments element 0; the view sees it at once.
    using prog = Program.load(
      {
        type: "xdp",
        instructions: instructions(
          st("u32", R10, -4, 0), mov64(R2, R10), add64(R2, -4), ldMapFd(R1, "m"), call("map_lookup_elem"),
          jeq(R0, 0, "out"), mov64(R1, 1), atomic("add", "u64", R0, R1, 0),
          label("out"), mov64(R0, 2), exit(),
        ),
      },
      { maps: { m: m.fd } },
    );
    prog.run({ data: new Uint8Array(64), repeat: 5 });
    expect(view.get(0)).toBe(5n);
    expect(new DataView(view.bytes.buffer, view.bytes.byteOffset).getBigUint64(0, true)).toBe(5n);
    const typed = view.typedArray(BigUint64Array);
    expect(typed.length).toBe(8);
    expect(typed[0]).toBe(5n);
    typed[7] = 77n;
    expect(m.get(7)).toBe(77n);
    expect(() => view.typedArray(Uint32Array)).toThrow(TypeError);
  });

  it("uses a stride of the value size rounded up to 8, and a custom codec", () => {
    const pair = struct([{ name: "a", codec: u32 }, { name: "b", codec: u32 }]);
    using m = BpfMap.create({ type: "array", key: u32, valueSize: 12, maxEntries: 3, flags: MapFlags.MMAPABLE });
    const tri = struct([{ name: "x", codec: u32 }, { name: "y", codec: u32 }, { name: "z", codec: u32 }]);
    using view = m.mmap(tri);
    expect(view.stride).toBe(16);
    view.set(2, { x: 1, y: 2, z: 3 });
    expect(m.get(2)).toEqual(new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]));
    expect(() => m.mmap(pair)).toThrow(RangeError);
    expect(() => view.get(3)).toThrow(RangeError);
    expect(() => view.get(-1)).toThrow(RangeError);
  });

  it("maps frozen arrays read-only only, and refuses arrays that are not mmapable", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 2, flags: MapFlags.MMAPABLE });
    m.set(1, 7);
    m.freeze();
    expect(() => m.mmap()).toThrow(/EPERM/);
    using ro = m.mmap(undefined, { readonly: true });
    expect(ro.get(1)).toBe(7);
    expect(() => ro.set(1, 8)).toThrow(TypeError);
    using plain = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 2 });
    expect(() => plain.mmap()).toThrow(/only array maps created with BPF_F_MMAPABLE/);
    expect(() => plain.mmap(undefined, { writable: true } as never)).toThrow(TypeError);
  });

  it("throws ClosedError after close, and outlives the map's fd", () => {
    const m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 2, flags: MapFlags.MMAPABLE });
    const view = m.mmap();
    m.close();
    view.set(0, 5);
    expect(view.get(0)).toBe(5);
    view.close();
    view.close();
    expect(() => view.get(0)).toThrow(ClosedError);
    expect(() => view.bytes).toThrow(ClosedError);
  });
});
