import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countSlots } from "../../src/asm/encoding.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { isParseError } from "../../src/errors.js";

const BPF = join(__dirname, "../../bpf");
const spec = (n: string) => CollectionSpec.fromFile(join(BPF, `${n}.o`));

describe("CollectionSpec from clang's objects (no kernel)", () => {
  it("global data: one map per section, named and flagged as libbpf does, with variables", () => {
    const s = spec("global_data");
    const shape = Object.fromEntries(
      Object.entries(s.maps).map(([k, m]) => [k, [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.freeze ?? false]]),
    );
    expect(shape).toEqual({
      ".rodata": ["global_d.rodata", "array", 4, 16, 1, 0x480, true],
      ".bss": ["global_d.bss", "array", 4, 16, 1, 0x400, false],
      ".data": ["global_d.data", "array", 4, 8, 1, 0x400, false],
      ".data.custom": [".data.custom", "array", 4, 4, 1, 0x400, false],
      ".rodata.greeting": [".rodata.greetin", "array", 4, 16, 1, 0x480, true],
    });
    const v = s.variables;
    expect([v.multiplier.value, v.magic.value, v.packets.value, v.last_len.value, v.custom_counter.value, v.hidden_static.value]).toEqual([
      1, 0x1122334455667788n, 0n, 7, 100, 3,
    ]);
    expect(v.hidden_static.static).toBe(true);
    expect(v.multiplier.readonly).toBe(true);
    expect(Buffer.from(v.greeting.value as Uint8Array).toString("latin1").replace(/\0+$/, "")).toBe("hello");
    // Editing a variable edits its map's initial contents, and only with values that fit.
    v.multiplier.value = 0xffffffff;
    expect(new DataView(s.maps[".rodata"].contents!.buffer).getUint32(0, true)).toBe(0xffffffff);
    expect(() => (v.multiplier.value = -1)).toThrow(RangeError);
    expect(() => (v.multiplier.value = 1.5)).toThrow(TypeError);
    expect(() => (v.greeting.value = 5)).toThrow(TypeError);
    v.greeting.value = new Uint8Array(16).fill(0x41);
    expect(s.maps[".rodata.greeting"].contents![15]).toBe(0x41);
    // Global data references carry the variable's offset inside its map.
    const refs = s.programs.count_packets.instructions.flatMap((i) => (i.reference ? [i.reference] : []));
    expect(refs).toContainEqual({ kind: "map", name: ".rodata", value: true, offset: 8 });
    expect(refs).toContainEqual({ kind: "map", name: ".bss", value: true, offset: 8 });
  });

  it("subprograms are appended once, breadth-first, and calls name them", () => {
    const s = spec("subprograms");
    const p = s.programs.calc_xdp;
    expect(p.subprograms).toEqual(["sum_squares", "store", "global_add", "square"]);
    expect(s.programs.calc_socket.subprograms).toEqual(["square", "store"]);
    const labels = p.instructions.filter((i) => i.symbol).map((i) => i.symbol);
    expect(labels).toEqual(["calc_xdp", "sum_squares", "store", "global_add", "square"]);
    for (const i of p.instructions) {
      if (i.reference?.kind === "symbol") expect(labels).toContain(i.reference.name);
    }
    // func_info: one record per function, at each function's first slot, ascending.
    expect(p.funcInfos!.map((f) => f.insnOff)).toEqual(labelSlots(p.instructions));
    expect(p.lineInfos![0].insnOff).toBe(0);
    expect(s.programs.calc_socket.type).toBe("socket_filter");
  });

  it("lazy program fields: a spread copies their values, assignment replaces them, renaming keeps the records", () => {
    const s = spec("subprograms");
    const p = s.programs.calc_xdp;
    const records = { fi: p.funcInfos, li: p.lineInfos, insns: p.instructions };
    expect(records.fi!.length).toBeGreaterThan(1);
    const copy = { ...p };
    expect(Object.getOwnPropertyDescriptor(copy, "instructions")?.value).toBe(records.insns);
    expect(Object.getOwnPropertyDescriptor(copy, "funcInfos")?.value).toBe(records.fi);
    expect(Object.keys(p)).toEqual(expect.arrayContaining(["instructions", "funcInfos", "lineInfos", "coreRelocations"]));
    p.name = "renamed"; // the records stay those of the function it was read from
    expect(p.funcInfos).toBe(records.fi);
    expect(p.lineInfos).toBe(records.li);
    p.funcInfos = [];
    p.instructions = records.insns.slice(0, 2);
    expect(p.funcInfos).toEqual([]);
    expect(p.instructions).toHaveLength(2);
    // Other programs of the same spec are not affected.
    expect(s.programs.calc_socket.funcInfos!.length).toBeGreaterThan(0);
  });

  it("callbacks become BPF_PSEUDO_FUNC references; prog array slots name programs", () => {
    const s = spec("xdp_tail");
    const cb = s.programs.xdp_entry.instructions.find((i) => i.opcode === 0x18 && i.src === 4);
    expect(cb?.reference).toEqual({ kind: "symbol", name: "add_index" });
    expect(s.programs.xdp_entry.subprograms).toEqual(["add_index"]);
    expect([...s.maps.jump_table.values!]).toEqual([
      [1, { kind: "program", name: "xdp_stage1" }],
      [2, { kind: "program", name: "xdp_stage2" }],
    ]);
  });

  it("maps of maps carry their inner template and values", () => {
    const s = spec("map_in_map");
    expect(s.maps.outer_array.innerMap).toMatchObject({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(s.maps.outer_hash.innerMap).toMatchObject({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 8 });
    expect([...s.maps.outer_array.values!]).toEqual([
      [0, { kind: "map", name: "inner_a" }],
      [1, { kind: "map", name: "inner_b" }],
    ]);
  });

  it("legacy map definitions, pinning, version, license, `?` sections", () => {
    const l = spec("legacy_maps");
    expect(l.maps.legacy_hash).toMatchObject({ kind: "legacy", type: "hash", keySize: 4, valueSize: 4, maxEntries: 16, flags: 1 });
    const p = spec("pinning");
    expect(p.maps.pinned_hash).toMatchObject({ pinning: "by_name", flags: 1, btfKeyTypeId: expect.any(Number) });
    expect(p.maps.sized_lru).toMatchObject({ type: "lru_hash", keySize: 8, valueSize: 16, numaNode: 0 });
    expect(p.maps.events).toMatchObject({ type: "ringbuf", maxEntries: 4096 });
    expect([p.license, p.version]).toEqual(["Dual BSD/GPL", 0x060c00]);
    expect(p.programs.use_maps.kernelVersion).toBe(0x060c00);
    expect([p.programs.use_maps.autoload, p.programs.not_autoloaded.autoload]).toEqual([true, false]);
    expect(p.autoloadPrograms).toEqual(["use_maps"]);
  });

  it(".kconfig externs are laid out as libbpf lays them out", () => {
    const k = spec("kconfig");
    const layout = Object.values(k.externs).map((e) => [e.name, e.offset, e.size, e.weak]);
    expect(layout).toEqual([
      ["CONFIG_HZ", 0, 4, false],
      ["CONFIG_TSBPF_DOES_NOT_EXIST", 4, 4, true],
      ["LINUX_KERNEL_VERSION", 8, 4, false],
      ["CONFIG_BPF_SYSCALL", 12, 1, false],
      ["LINUX_HAS_BPF_COOKIE", 13, 1, false],
    ]);
    expect(k.maps[".kconfig"]).toMatchObject({ name: "kconfig.kconfig", valueSize: 14, flags: 0x480, freeze: true });
  });

  it("a big-endian object gives the same spec as the little-endian one", () => {
    const le = spec("global_data");
    const be = CollectionSpec.fromFile(join(__dirname, "fixtures/global_data.bpfeb.o"));
    expect(be.byteOrder).toBe("big");
    const vals = (s: CollectionSpec) => Object.fromEntries(Object.values(s.variables).map((v) => [v.name, v.value]));
    expect(vals(be)).toEqual(vals(le));
    const maps = (s: CollectionSpec) => Object.values(s.maps).map((m) => [m.name, m.valueSize, m.flags]);
    expect(maps(be)).toEqual(maps(le));
    expect(countSlots(be.programs.count_packets.instructions)).toBe(countSlots(le.programs.count_packets.instructions));
  });

  it("instructions can be replaced before load", () => {
    const s = spec("histogram");
    const insns = [{ opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 2 }, { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }];
    s.programs.size_histogram.instructions = insns;
    expect(s.programs.size_histogram.instructions).toBe(insns);
  });

  it("refuses what is not a BPF object, and unknown options", () => {
    let err: unknown;
    try {
      CollectionSpec.fromBytes(new Uint8Array(readFileSync(process.execPath).subarray(0, 1 << 20)));
    } catch (e) {
      err = e;
    }
    expect(isParseError(err)).toBe(true);
    expect(() => CollectionSpec.fromBytes(readFileSync(join(BPF, "global_data.o")), { bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
  });
});

function labelSlots(insns: readonly { opcode: number; symbol?: string }[]): number[] {
  const out: number[] = [];
  let slot = 0;
  for (const i of insns) {
    if (i.symbol) out.push(slot);
    slot += i.opcode === 0x18 ? 2 : 1;
  }
  return out;
}
