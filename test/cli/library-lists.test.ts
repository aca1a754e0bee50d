/** Program.list(), BpfMap.list(), Btf.list(): every object's info, each opened again by id. */
import { expect } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import { u32 } from "../../src/codec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Btf } from "../../src/map/btf.js";
import { Program } from "../../src/program/program.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describeKernel("listing the kernel's objects", () => {
  itKernel("Program.list() holds a program this process loaded, with the info fromId gives", async () => {
    using p = Program.load({ name: "cli_list_p", type: "socket_filter", license: "GPL", instructions: asm`
      r0 = 0
      exit
    ` });
    const id = p.info().id;
    const listed = Program.list();
    expect(listed.map((i) => i.id)).toEqual([...listed.map((i) => i.id)].sort((a, b) => a - b));
    const mine = listed.find((i) => i.id === id);
    expect(mine).toMatchObject({ id, name: "cli_list_p", type: "socket_filter", tag: p.info().tag });
    const again = Program.fromId(id);
    expect(again.info().tag).toBe(mine!.tag);
    again.close();
    p.close(); // the last fd: the kernel frees the program (RCU: it may take a moment)
    for (let i = 0; i < 100 && Program.list().some((x) => x.id === id); i++) await new Promise((r) => setTimeout(r, 20));
    expect(Program.list().some((i) => i.id === id)).toBe(false);
  });

  itKernel("BpfMap.list() holds a map this process made, with its sizes; a closed one is gone", async () => {
    const m = BpfMap.create({ name: "cli_list_m", type: "hash", key: u32, value: u32, maxEntries: 3 });
    const id = m.id;
    expect(BpfMap.list().find((i) => i.id === id)).toMatchObject({ id, name: "cli_list_m", typeName: "hash", keySize: 4, valueSize: 4, maxEntries: 3 });
    m.close();
    for (let i = 0; i < 100 && BpfMap.list().some((x) => x.id === id); i++) await new Promise((r) => setTimeout(r, 20));
    expect(BpfMap.list().some((i) => i.id === id)).toBe(false);
  });

  itKernel("Btf.list() holds the kernel's vmlinux BTF and BTF this process loaded", () => {
    using b = Btf.load([{ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 }]);
    const id = b.info().id;
    const listed = Btf.list();
    expect(listed.find((i) => i.id === id)).toEqual(b.info());
    expect(listed.some((i) => i.name === "vmlinux" && i.kernelBtf)).toBe(true);
  });
});
