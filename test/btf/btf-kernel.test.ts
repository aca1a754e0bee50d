import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, expect } from "vitest";
import { isBpfError, type BpfError } from "../../src/errors.js";
import { fixupDatasecs, sanitizeBtf } from "../../src/btf/fixup.js";
import { marshalBtf } from "../../src/btf/marshal.js";
import { parseBtf } from "../../src/btf/spec.js";
import type { BtfTypeInit } from "../../src/btf/types.js";
import { Btf } from "../../src/map/btf.js";
import { probeBtfFeatures } from "../../src/features/btf.js";
import { listIds } from "../../src/sys/obj.js";
import { describeKernel, isFdOpen, itKernel, openFdCount } from "../helpers/kernel.js";

const kinds = parseBtf(readFileSync(fileURLToPath(new URL("./fixtures/kinds.bpfel.btf", import.meta.url))));
const layout = {
  sectionSize: (s: string) => ({ ".bss": 36, ".data": 16, ".maps": 32, ".rodata": 4, license: 4 })[s],
  variableOffset: (_: string, v: string) => ({ counter: 0, ratio: 4, ratio_ptr: 8, buf: 0, hidden: 32, holders: 0, limit: 0, LICENSE: 0 })[v],
};

const small: BtfTypeInit[] = [
  { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 },
  { kind: "ptr", name: "", type: 1 },
  { kind: "struct", name: "pair", size: 16, members: [{ name: "a", type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: "p", type: 2, bitOffset: 64, bitfieldSize: 0 }] },
];

describeKernel("Btf (BPF_BTF_LOAD)", () => {
  const open: Btf[] = [];
  afterEach(() => {
    for (const b of open.splice(0)) b.close();
  });
  const keep = (b: Btf) => (open.push(b), b);

  itKernel("loads BTF built by tsbpf and reads it back by id", () => {
    const blob = marshalBtf(small);
    const btf = keep(Btf.load(blob));
    const info = btf.info();
    expect(info.id).toBeGreaterThan(0);
    expect(info.size).toBe(blob.length);
    expect(info.kernelBtf).toBe(false);
    expect(Buffer.from(btf.bytes()).equals(Buffer.from(blob))).toBe(true);
    const again = keep(Btf.fromId(info.id));
    expect(again.info().id).toBe(info.id);
    expect(again.spec().typeByName("pair", "struct")!.members.map((m) => m.name)).toEqual(["a", "p"]);
    const n = btf.fd.value;
    btf.close();
    btf.close();
    expect(isFdOpen(n)).toBe(false);
  });

  itKernel("loads a big-endian spec by re-marshalling it in the kernel's byte order", () => {
    const be = parseBtf(marshalBtf(small, { byteOrder: "big" }));
    expect(be.byteOrder).toBe("big");
    const btf = keep(Btf.load(be));
    expect(btf.spec().typeByName("pair", "struct")!.size).toBe(16);
    expect(btf.info().size).toBe(marshalBtf(small).length);
  });

  itKernel("explains a corrupted blob with the kernel's BTF log", () => {
    const blob = marshalBtf(small);
    new DataView(blob.buffer).setUint32(24 + 16 + 8, 99, true); // ptr -> type 99 (header checks pass)
    let err: unknown;
    try {
      keep(Btf.load(blob, { name: "BTF of test.o" }));
    } catch (e) {
      err = e;
    }
    expect(isBpfError(err)).toBe(true);
    const e = err as BpfError & { log: string };
    expect(e.command).toBe("BPF_BTF_LOAD");
    expect(e.code).toBe("EINVAL");
    expect(e.message).toMatch(/^BTF of test\.o: load: EINVAL from BPF_BTF_LOAD \(the kernel's BTF check says: .*type_id/);
    expect(e.log).toContain("type_id=99");
  });

  itKernel("loads clang's object BTF once datasecs are fixed up, and refuses it before", () => {
    expect(() => keep(Btf.load(kinds))).toThrow(/BPF_BTF_LOAD/);
    const fixed = fixupDatasecs([...kinds], layout);
    keep(Btf.load(fixed));
  });

  itKernel("loads object BTF sanitized for a kernel without any newer kind", () => {
    const fixed = sanitizeBtf(fixupDatasecs([...kinds], layout), {
      func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false,
    });
    keep(Btf.load(fixed));
  });

  itKernel("leaks no fd when loads fail or handles are closed", () => {
    const bad = marshalBtf(small);
    new DataView(bad.buffer).setUint32(24 + 16 + 8, 99, true);
    const before = openFdCount();
    for (let i = 0; i < 20; i++) {
      expect(() => Btf.load(bad)).toThrow(/BPF_BTF_LOAD/);
      Btf.load(marshalBtf(small)).close();
    }
    expect(openFdCount()).toBe(before);
  });

  itKernel("probes every BTF kind as supported on this 6.18 kernel", () => {
    expect(probeBtfFeatures()).toEqual({ func: true, funcGlobal: true, datasec: true, float: true, declTag: true, typeTag: true, enum64: true });
  });

  itKernel("opens the kernel's own BTF by id, identical to /sys/kernel/btf/vmlinux", () => {
    let found = false;
    for (const id of listIds("btf")) {
      const b = keep(Btf.fromId(id));
      const info = b.info();
      if (info.kernelBtf && info.name === "vmlinux") {
        found = true;
        expect(Buffer.from(b.bytes()).equals(readFileSync("/sys/kernel/btf/vmlinux"))).toBe(true);
        break;
      }
    }
    expect(found).toBe(true);
  });

  itKernel("rejects unknown options before the syscall", () => {
    expect(() => Btf.load(marshalBtf(small), { loglevel: 1 } as never)).toThrow(/unknown option "loglevel"/);
    expect(() => Btf.load(marshalBtf(small), { logSize: 10 })).toThrow(RangeError);
  });
});

describeKernel("kernel BTF through mmap", () => {
  itKernel("maps /sys/kernel/btf/vmlinux to the same bytes as reading it", async () => {
    const { mapKernelBtfFile } = await import("../../src/sys/btf-attr.js");
    const mapped = mapKernelBtfFile("/sys/kernel/btf/vmlinux");
    // Linux 6.16+ maps it; this machine runs 6.18
    expect(mapped).toBeDefined();
    expect(Buffer.from(mapped!).equals(readFileSync("/sys/kernel/btf/vmlinux"))).toBe(true);
    expect(mapKernelBtfFile("/etc/passwd")).toBeUndefined();
    const spec = parseBtf(mapped!, { lazy: true });
    expect(spec.typeByName("task_struct", "struct")).toBeDefined();
  });
});
