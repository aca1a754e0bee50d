/**
 * Explaining a verifier rejection: the catalogue entry that recognises the log's error, the
 * instruction it is about, that instruction's source line (from the program's `.BTF.ext` line
 * info when known, else from the log's own quotes) and the state of the registers involved.
 * Pure: works on a saved log as well as on a live VerifierError.
 */
import type { VerifierContext, VerifierExplanation, VerifierSourceLine } from "../errors.js";
import { CATALOGUE, type CatalogueEntry, type EntryInput } from "./catalogue.js";
import { parseVerifierLog, stateBefore, type VerifierLog } from "./parse.js";

let compiled: { entry: CatalogueEntry; re: RegExp }[] | undefined;

function patterns(): { entry: CatalogueEntry; re: RegExp }[] {
  return (compiled ??= CATALOGUE.map((entry) => ({ entry, re: new RegExp(entry.pattern) })));
}

/** Slot of each instruction (ld_imm64 takes two). */
function slotsOf(instructions: VerifierContext["instructions"]): number[] {
  const out: number[] = [];
  let slot = 0;
  for (const insn of instructions ?? []) {
    out.push(slot);
    slot += insn.opcode === 0x18 ? 2 : 1;
  }
  return out;
}

/**
 * The source line of instruction `slot`: the line info record with the greatest instruction
 * offset at or before it (line info marks where each source line's code starts). `lines` must
 * be sorted by `insn`, as the kernel requires line info to be.
 */
export function sourceLineAt(lines: readonly VerifierSourceLine[], slot: number): VerifierSourceLine | undefined {
  let lo = 0;
  let hi = lines.length - 1;
  let found: VerifierSourceLine | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid].insn <= slot) {
      found = lines[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The subprogram an instruction slot belongs to: the one with the greatest start at or before it. */
export function subprogramAt(subprograms: VerifierContext["subprograms"], slot: number): string | undefined {
  let best: { name: string; start: number } | undefined;
  for (const s of subprograms ?? []) if (s.start <= slot && (!best || s.start > best.start)) best = s;
  return best?.name;
}

/** The last walked instruction at `slot` in the log (its position in `log.instructions`). */
function lastWalked(log: VerifierLog, slot: number): number {
  for (let i = log.instructions.length - 1; i >= 0; i--) if (log.instructions[i].index === slot) return i;
  return -1;
}

/**
 * Explain a verifier log: which known rejection it is, why, and what to change. `log` is the
 * text, its lines, or a parsed log; `context` adds what the log lacks (line info with columns,
 * the instructions, program type and license). Returns undefined when no catalogue entry
 * recognises the error (the raw log is then all there is).
 */
export function explainVerifierLog(log: string | readonly string[] | VerifierLog, context: VerifierContext = {}): VerifierExplanation | undefined {
  const parsed = typeof log === "object" && "errorLines" in log ? log : parseVerifierLog(log as string | readonly string[]);
  if (parsed.errorLines.length === 0) return undefined;
  const failingInsn = parsed.failingInstruction;
  const slots = slotsOf(context.instructions);
  const programType = context.programType === undefined ? undefined : String(context.programType);
  const input = (match: RegExpExecArray): EntryInput => ({
    match,
    log: parsed,
    failing: failingInsn?.text,
    programType,
    license: context.license,
    findCall(kind) {
      const insns = context.instructions ?? [];
      for (let i = 0; i < insns.length; i++) {
        const x = insns[i];
        if (x.opcode !== 0x85) continue;
        if (kind === "subprogram" ? x.src === 1 : x.src === 0 && x.imm === kind.helper) return slots[i];
      }
      // Without the instructions, the log may show the call.
      for (const w of parsed.instructions) {
        if (kind === "subprogram" ? /^call pc[+-]\d+/.test(w.text) : new RegExp(`^call \\w+#${kind.helper}$`).test(w.text)) return w.index;
      }
      return undefined;
    },
    textAt(slot) {
      const at = lastWalked(parsed, slot);
      return at < 0 ? undefined : parsed.instructions[at].text;
    },
  });

  // Each error line, then all of them together (some errors span lines).
  const candidates = [...parsed.errorLines, parsed.errorLines.join("\n")];
  for (const { entry, re } of patterns()) {
    for (const text of candidates) {
      const m = re.exec(text);
      if (!m) continue;
      const verdict = entry.explain(input(m));
      if (!verdict) continue;
      const slot = verdict.instruction ?? failingInsn?.index;
      const position = slot === undefined ? -1 : lastWalked(parsed, slot);
      const walked = position >= 0 ? parsed.instructions[position] : undefined;
      const fromExt = slot !== undefined && context.sourceLines ? sourceLineAt(context.sourceLines, slot) : undefined;
      const fromLog = walked?.source;
      const source = fromExt
        ? { file: fromExt.file, line: fromExt.line, column: fromExt.column, text: fromExt.text }
        : fromLog
          ? { file: fromLog.file, line: fromLog.line, text: fromLog.text }
          : undefined;
      let registers: Record<string, string> | undefined;
      if (walked) {
        const state = { ...stateBefore(parsed, position) };
        const wanted = verdict.registers ?? registersOf(walked.text);
        registers = {};
        for (const r of wanted) if (state[r] !== undefined) registers[r] = state[r];
        if (Object.keys(registers).length === 0) registers = undefined;
      }
      const funcs = context.subprograms ?? parsed.subprograms.map((f) => ({ name: `func#${f.index}`, start: f.start }));
      const subprogram = slot === undefined ? undefined : subprogramAt(funcs, slot);
      return {
        category: verdict.category ?? entry.id,
        title: entry.title,
        cause: verdict.cause,
        fix: verdict.fix,
        error: parsed.errorLines.find((l) => l.includes(m[0].split("\n")[0])) ?? m[0],
        ...(slot !== undefined ? { instruction: { index: slot, ...(walked ? { text: walked.text } : {}) } } : {}),
        ...(source ? { source } : {}),
        ...(registers ? { registers } : {}),
        ...(subprogram ? { subprogram } : {}),
      };
    }
  }
  return undefined;
}

/** The registers an instruction's text names (`r1 = *(u32 *)(r2 +0)` → R1, R2; calls → R1–R5). */
function registersOf(text: string): string[] {
  if (/^call /.test(text)) return ["R1", "R2", "R3", "R4", "R5"];
  if (text === "exit") return ["R0"];
  return [...new Set([...text.matchAll(/\b[rw](\d+)\b/g)].map((m) => `R${m[1]}`))];
}

/** One sentence for an explanation: where, what, why, what to do. */
export function explanationSentence(e: VerifierExplanation): string {
  const where = e.source?.file !== undefined && e.source.line !== undefined
    ? `${e.source.file}:${e.source.line}${e.source.column ? `:${e.source.column}` : ""}: `
    : e.instruction ? `instruction ${e.instruction.index}: ` : "";
  return `${where}${e.title} (${e.category}): ${e.cause}; fix: ${e.fix}.`;
}
