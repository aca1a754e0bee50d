import { expect, it } from "vitest";
import { BtfBuilder } from "../../src/btf/marshal.js";
import { Btf } from "../../src/map/btf.js";
import { Program } from "../../src/program/program.js";
import { describeKernel } from "../helpers/kernel.js";
import { returns, XDP_PASS } from "./fixtures.js";

/** BTF for `int count_main(void *ctx)` and a source file with two lines, plus the records. */
function programBtf() {
  const b = new BtfBuilder();
  const int = b.add({ kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  const voidPtr = b.add({ kind: "ptr", name: "", type: 0 });
  const proto = b.add({ kind: "func_proto", name: "", returnType: int, params: [{ name: "ctx", type: voidPtr }] });
  const func = b.add({ kind: "func", name: "count_main", type: proto, linkage: "global" });
  const file = b.addString("/src/count.c");
  const line1 = b.addString("int count_main(void *ctx) {");
  const line2 = b.addString("\treturn XDP_PASS;");
  const funcInfo = new Uint8Array(8);
  new DataView(funcInfo.buffer).setUint32(4, func, true); // insn_off 0, type_id
  const lineInfo = new Uint8Array(32);
  const v = new DataView(lineInfo.buffer);
  // struct bpf_line_info: insn_off, file_name_off, line_off, line_col (line << 10 | column)
  [[0, file, line1, (1 << 10) | 1], [1, file, line2, (2 << 10) | 2]].forEach((rec, i) =>
    rec.forEach((x, j) => v.setUint32(i * 16 + j * 4, x, true)),
  );
  return { blob: b.marshal(), funcInfo, lineInfo };
}

describeKernel("Program.load with BTF func and line info", () => {
  it("gives the kernel the records, which it keeps with the program", () => {
    const { blob, funcInfo, lineInfo } = programBtf();
    using btf = Btf.load(blob);
    using prog = Program.load(
      { name: "with_btf", type: "xdp", instructions: returns(XDP_PASS), btf: { funcInfo, lineInfo } },
      { btf },
    );
    const info = prog.info();
    expect(info.btfId).toBe(btf.info().id);
    expect(info.funcInfoCount).toBe(1);
    expect(info.lineInfoCount).toBe(2);
    expect(prog.run({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
  });

  it("reports records the kernel refuses (a func info that names no function)", () => {
    const { blob, lineInfo } = programBtf();
    using btf = Btf.load(blob);
    const bad = new Uint8Array(8);
    new DataView(bad.buffer).setUint32(4, 1, true); // type 1 is the int, not a func
    expect(() =>
      Program.load({ type: "xdp", instructions: returns(XDP_PASS), btf: { funcInfo: bad, lineInfo } }, { btf }),
    ).toThrow(/EINVAL from BPF_PROG_LOAD[\s\S]*invalid type id 1 in func info/);
  });
});
