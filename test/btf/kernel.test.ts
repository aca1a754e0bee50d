import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isNotSupportedError, isParseError } from "../../src/errors.js";
import { kernelBtf, kernelModulesWithBtf, moduleBtf, releaseKernelBtf } from "../../src/features/kernel-btf.js";
import { BtfBuilder } from "../../src/btf/marshal.js";
import { parseBtf } from "../../src/btf/spec.js";
import { hasKernelBtf } from "../helpers/kernel.js";

const hasVmlinux = hasKernelBtf;

describe.skipIf(!hasVmlinux)("kernelBtf", () => {
  it("is one shared lazy instance until released", () => {
    releaseKernelBtf();
    const a = kernelBtf();
    expect(kernelBtf()).toBe(a);
    const ts = a.typeByName("task_struct", "struct")!;
    expect(ts.members.find((m) => m.name === "pid")).toBeDefined();
    releaseKernelBtf();
    const b = kernelBtf();
    expect(b === a).toBe(false); // not .not.toBe: vitest would format a 126k-type iterable
    expect(b.typeCount).toBe(a.typeCount);
    // a spec handed out before the release stays usable
    expect(a.typeById(ts.id)).toEqual(ts);
  });

  it("finds kfuncs by their decl tag", () => {
    const k = kernelBtf();
    const fn = k.typeByName("bpf_task_from_pid", "func")!;
    expect(fn.linkage).toBe("static");
    const tags = [...k.typesOfKind("decl_tag")].filter((t) => t.type === fn.id).map((t) => t.name);
    expect(tags).toContain("bpf_kfunc");
  });

  it("reads a BTF file given by path instead", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-btf-"));
    try {
      const b = new BtfBuilder();
      b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
      writeFileSync(join(dir, "vmlinux"), b.marshal());
      const spec = kernelBtf({ path: join(dir, "vmlinux") });
      expect(spec.typeCount).toBe(1);
      expect(kernelBtf({ path: join(dir, "vmlinux") })).toBe(spec);
      writeFileSync(join(dir, "bad"), new Uint8Array(10));
      let err: unknown;
      try {
        kernelBtf({ path: join(dir, "bad") });
      } catch (e) {
        err = e;
      }
      expect(isParseError(err)).toBe(true);
      expect((err as Error).message).toContain(join(dir, "bad"));
      expect(() => kernelBtf({ path: join(dir, "missing") })).toThrow(/no such file/);
    } finally {
      releaseKernelBtf();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says which module has no BTF", () => {
    let err: unknown;
    try {
      moduleBtf("no_such_module_tsbpf");
    } catch (e) {
      err = e;
    }
    expect(isNotSupportedError(err)).toBe(true);
    expect((err as Error).message).toContain('"no_such_module_tsbpf"');
    expect(() => moduleBtf("../etc")).toThrow(TypeError);
    for (const m of kernelModulesWithBtf()) {
      const spec = moduleBtf(m);
      expect(spec.base).toBe(kernelBtf());
      expect(spec.firstId).toBe(kernelBtf().nextId);
    }
  });

  it("finds split types named with the base's strings, as module BTF does", () => {
    const base = kernelBtf();
    const u32 = base.typeByName("u32", "typedef")!;
    // a raw split blob whose struct is named "sk_buff" through the base's string offset
    const own = new TextEncoder().encode("\0count\0");
    // the offset of "sk_buff" in the base's string table
    const baseNameOff = (() => {
      const b = base.bytes;
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const strStart = 24 + v.getUint32(16, true);
      const at = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf("\0sk_buff\0", strStart);
      expect(at).toBeGreaterThan(0);
      return at + 1 - strStart;
    })();
    expect(base.string(baseNameOff)).toBe("sk_buff");
    const types = new Uint32Array([baseNameOff, (4 << 24) | 1, 4, base.stringTableEnd + 1, u32.id, 0]);
    const blob = new Uint8Array(24 + types.byteLength + own.length);
    const dv = new DataView(blob.buffer);
    dv.setUint16(0, 0xeb9f, true);
    blob[2] = 1;
    dv.setUint32(4, 24, true);
    dv.setUint32(12, types.byteLength, true);
    dv.setUint32(16, types.byteLength, true);
    dv.setUint32(20, own.length, true);
    blob.set(new Uint8Array(types.buffer), 24);
    blob.set(own, 24 + types.byteLength);
    const split = parseBtf(blob, { base });
    const id = split.firstId;
    expect(split.typeById(id)).toMatchObject({ kind: "struct", name: "sk_buff", members: [{ name: "count", type: u32.id }] });
    // the base's sk_buff first, then the module's; before and after the name index exists
    for (let i = 0; i < 8; i++) {
      const ids = split.idsByName("sk_buff", "struct");
      expect(ids[ids.length - 1]).toBe(id);
      expect(ids.length).toBe(2);
      expect(split.idsByEssentialName("sk_buff___x", "struct")).toEqual(ids);
    }
  });

  it("module-style split BTF resolves base ids and strings", () => {
    const base = kernelBtf();
    const u32 = base.typeByName("u32", "typedef")!;
    const b = new BtfBuilder({ base });
    const id = b.add({ kind: "struct", name: "my_mod_state", size: 4, members: [{ name: "count", type: u32.id, bitOffset: 0, bitfieldSize: 0 }] });
    const split = parseBtf(b.marshal(), { base });
    expect(split.typeById(id)).toMatchObject({ name: "my_mod_state", members: [{ name: "count", type: u32.id }] });
    expect(split.typeById(u32.id)).toBe(u32);
    expect(split.idsByName("u32", "typedef")).toEqual([u32.id]);
  });
});
