/**
 * What a rejected program's object knows that the verifier log lacks: its `.BTF.ext` line info
 * resolved to file, line, column and source text, and the names and start slots of its
 * functions. The records are those the program was loaded with (rebased over its subprograms by
 * the ELF reader), so they match the instruction slots the verifier prints.
 */
import type { BtfSpec } from "../btf/spec.js";
import type { ProgramSpec } from "../spec/program-spec.js";
import type { VerifierContext, VerifierSourceLine } from "../errors.js";

/** Line info and functions of `p`, read from `btf` (the object's BTF, whose strings the records index). */
export function verifierSourceContext(p: ProgramSpec, btf: BtfSpec | undefined): VerifierContext {
  if (!btf) return {};
  const out: { sourceLines?: VerifierSourceLine[]; subprograms?: { name: string; start: number }[] } = {};
  try {
    const lines = p.lineInfos;
    if (lines?.length) {
      out.sourceLines = lines
        .map((r) => ({ insn: r.insnOff, file: btf.string(r.fileNameOff), line: r.lineCol >>> 10, column: r.lineCol & 0x3ff, text: btf.string(r.lineOff).trim() }))
        .sort((a, b) => a.insn - b.insn);
    }
    const funcs = p.funcInfos;
    if (funcs?.length) out.subprograms = funcs.map((f) => ({ name: btf.nameOf(f.typeId), start: f.insnOff }));
  } catch {
    return {}; // malformed records: the explanation falls back to the log's own source quotes
  }
  return out;
}
