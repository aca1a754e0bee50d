import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { structOpsSectionKind } from "../../src/elf/struct-ops.js";
import { MapFlags } from "../../src/spec/map-spec.js";

const OBJ = join(__dirname, "../../bpf/struct_ops.o");

describe("struct_ops maps in the spec (.struct_ops.link)", () => {
  it("makes one struct_ops map per variable, with its data, flag and member programs", () => {
    const spec = CollectionSpec.fromFile(OBJ);
    const m = spec.maps.tsbpf_cc;
    expect(m).toMatchObject({ name: "tsbpf_cc", type: "struct_ops", kind: "struct_ops", keySize: 4, maxEntries: 1, flags: MapFlags.LINK, section: ".struct_ops.link" });
    expect(m.valueSize).toBeUndefined(); // the kernel type's size, known at load
    const so = m.structOps!;
    expect(so.typeName).toBe("tcp_congestion_ops");
    expect(so.programs).toEqual({ init: "tsbpf_init", ssthresh: "tsbpf_ssthresh", cong_avoid: "tsbpf_cong_avoid", undo_cwnd: "tsbpf_undo_cwnd" });
    // The local struct: 4 pointers, u32 flags, char name[16] (56 bytes with padding).
    const st = spec.btf!.typeById(m.btfValueTypeId!);
    expect(st).toMatchObject({ kind: "struct", name: "tcp_congestion_ops", size: so.data.length });
    const nameOff = (st as { members: { name: string; bitOffset: number }[] }).members.find((x) => x.name === "name")!.bitOffset / 8;
    expect(new TextDecoder().decode(so.data.subarray(nameOff, nameOff + 8))).toBe("tsbpf_cc");
    expect(so.data[nameOff + 8]).toBe(0);
    const flagsOff = (st as { members: { name: string; bitOffset: number }[] }).members.find((x) => x.name === "flags")!.bitOffset / 8;
    expect(new DataView(so.data.buffer, so.data.byteOffset).getUint32(flagsOff, true)).toBe(1);
    // Function slots hold no object addresses.
    expect([...so.data.subarray(0, 32)].every((b) => b === 0)).toBe(true);
  });

  it("loads by default only the struct_ops programs a map points at", () => {
    const spec = CollectionSpec.fromFile(OBJ);
    expect(spec.autoloadPrograms.sort()).toEqual(["tsbpf_cong_avoid", "tsbpf_init", "tsbpf_ssthresh", "tsbpf_undo_cwnd"]);
    for (const p of Object.values(spec.programs)) expect(p.type).toBe("struct_ops");
  });

  it("refuses a relocation that is not at a member of the variable (hostile bytes)", () => {
    const bytes = new Uint8Array(readFileSync(OBJ));
    // Find the .rel.struct_ops.link entries and shift the first one's offset by 1 byte.
    const spec = CollectionSpec.fromBytes(bytes);
    expect(spec.maps.tsbpf_cc).toBeDefined();
    const dv = new DataView(bytes.buffer);
    const shoff = Number(dv.getBigUint64(0x28, true));
    const shnum = dv.getUint16(0x3c, true);
    const shstrndx = dv.getUint16(0x3e, true);
    const strOff = Number(dv.getBigUint64(shoff + shstrndx * 64 + 0x18, true));
    let patched = false;
    for (let i = 0; i < shnum; i++) {
      const h = shoff + i * 64;
      let n = "";
      for (let j = strOff + dv.getUint32(h, true); bytes[j]; j++) n += String.fromCharCode(bytes[j]);
      if (n === ".rel.struct_ops.link") {
        const off = Number(dv.getBigUint64(h + 0x18, true));
        dv.setBigUint64(off, dv.getBigUint64(off, true) + 1n, true);
        patched = true;
      }
    }
    expect(patched).toBe(true);
    expect(() => CollectionSpec.fromBytes(bytes)).toThrow(/struct_ops "tsbpf_cc": relocation at byte \d+ is not at a member/);
  });
});

describe("optional struct_ops maps (?.struct_ops.link)", () => {
  it("are not created by default, and their programs are not loaded by default", () => {
    const spec = CollectionSpec.fromFile(join(__dirname, "../../bpf/struct_ops_optional.o"));
    expect(spec.maps.tsbpf_missing).toMatchObject({ type: "struct_ops", flags: MapFlags.LINK, autocreate: false, section: "?.struct_ops.link" });
    expect(spec.maps.tsbpf_missing.structOps).toMatchObject({ typeName: "tsbpf_missing_ops", programs: { run: "tsbpf_missing_run" } });
    expect(spec.programs.tsbpf_missing_run.autoload).toBe(false);
    expect(spec.autoloadPrograms).toEqual([]);
  });

  it("knows the section names libbpf reads struct_ops from", () => {
    expect(structOpsSectionKind(".struct_ops")).toBe("update");
    expect(structOpsSectionKind(".struct_ops.link")).toBe("link");
    expect(structOpsSectionKind("?.struct_ops")).toBe("update");
    expect(structOpsSectionKind("?.struct_ops.link")).toBe("link");
    expect(structOpsSectionKind(".struct_ops.linkx")).toBeUndefined();
    expect(structOpsSectionKind(".data")).toBeUndefined();
  });
});
