/**
 * Parsing the verifier's log (levels 1 and 2, and the level-4 stats lines) into structured
 * data: the instructions the verifier walked with the register and stack state it printed, the
 * branches it explored, the source lines it quoted, the error and the final stats. Pure: no
 * kernel. Any string parses (unknown lines are kept as `other`); memory and time are linear in
 * the log's size.
 */

/** Registers and stack slots as the verifier prints them: `R1` → `"ctx()"`, `fp-8` → `"0000????"`. */
export type RegisterState = Readonly<Record<string, string>>;

/** A source line the verifier quoted (`; return data[20]; @ prog.c:9`): the line info of the next instructions. */
export interface LogSourceLine {
  readonly text: string;
  readonly file?: string;
  readonly line?: number;
}

/**
 * One instruction the verifier walked (it walks an instruction once per path that reaches it).
 * The state is parsed on first read, so a log of a million lines stays cheap.
 */
export class LogInstruction {
  /** Instruction slot in the program as loaded (the index the verifier prints). */
  readonly index: number;
  /** The opcode byte, as the log's hex `(bf)`. */
  readonly opcode: number;
  /** The instruction as the verifier printed it (`r0 = *(u32 *)(r1 +96)`). */
  readonly text: string;
  /** The source line quoted last before this instruction, if any. */
  readonly source: LogSourceLine | undefined;
  /** Number of the path (0 for the first; each branch the verifier comes back to starts one). */
  readonly path: number;
  /** Index of the log line. */
  readonly line: number;
  #stateText: string;
  #parsed: { state: RegisterState; frame: number } | undefined;
  /** @internal */
  constructor(index: number, opcode: number, text: string, stateText: string, source: LogSourceLine | undefined, path: number, line: number) {
    this.index = index;
    this.opcode = opcode;
    this.text = text;
    this.#stateText = stateText;
    this.source = source;
    this.path = path;
    this.line = line;
  }
  #parse(): { state: RegisterState; frame: number } {
    return (this.#parsed ??= parseState(this.#stateText));
  }
  /** Registers and stack slots the verifier printed after the instruction (only those it touched). */
  get after(): RegisterState {
    return this.#parse().state;
  }
  /** Call depth (`frame1:` in the state); 0 in the main program. */
  get frame(): number {
    return this.#parse().frame;
  }
  toJSON(): object {
    return { index: this.index, opcode: this.opcode, text: this.text, after: this.after, frame: this.frame, source: this.source, path: this.path, line: this.line };
  }
}

/** A path the verifier started: at `to`, coming from the branch at `from` (undefined for the first path or a level-1 log). */
export interface LogBranch {
  readonly from?: number;
  readonly to: number;
  readonly state: RegisterState;
  readonly line: number;
}

/** The final stats line, `processed N insns (limit L) max_states_per_insn … mark_read …`. */
export interface VerifierStats {
  readonly processedInsns: number;
  readonly insnLimit: number;
  readonly maxStatesPerInsn: number;
  readonly totalStates: number;
  readonly peakStates: number;
  readonly markRead: number;
}

/** A subprogram the log names (level 2: `func#1 @12`). */
export interface LogSubprogram {
  readonly index: number;
  readonly start: number;
}

/** A parsed verifier log. */
export interface VerifierLog {
  /** Every line, without trailing blanks. */
  readonly lines: readonly string[];
  readonly instructions: readonly LogInstruction[];
  readonly branches: readonly LogBranch[];
  readonly subprograms: readonly LogSubprogram[];
  /**
   * The lines that say why the program was refused: those after the last instruction or state
   * line, up to the stats (e.g. `invalid access to map value, value_size=16 off=16 size=4`).
   */
  readonly errorLines: readonly string[];
  /** The first of `errorLines` (the verifier's own summary), if any. */
  readonly error?: string;
  /** The last instruction walked: where the verifier stopped, when it stopped inside do_check. */
  readonly failingInstruction?: LogInstruction;
  readonly stats?: VerifierStats;
  /** `verification time N usec` (log level 4). */
  readonly verificationTimeUsec?: number;
  /** `stack depth 8+0` per subprogram (log level 4). */
  readonly stackDepth?: readonly number[];
  /** Lines the parser did not recognise, by index. */
  readonly other: readonly number[];
}

const INSN = /^(\d+): \(([0-9a-f]{2})\) (.*)$/;
const PATH_START = /^(\d+): ((?:frame\d+: )?R\d+.*)$/;
const FROM_TO = /^from (\d+) to (\d+): (.*)$/;
const SOURCE = /^; (.*?)(?: @ ([^:\s]+):(\d+))?$/;
const STATS = /^processed (\d+) insns \(limit (\d+)\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+) mark_read (\d+)/;
const FUNC = /^func#(\d+) @(\d+)$/;
const TIME = /^verification time (\d+) usec$/;
const DEPTH = /^stack depth ([\d+]+)$/;
// A branch at level 1 ends its line with the state of the path the verifier returns to.
const BRANCH_TAIL = /^(.*\bgoto (?:pc)?[+-]\d+)\s+(\d+): ((?:frame\d+: )?R\d+.*)$/;
// The error of a program too large is printed without a newline after the last instruction.
const TOO_LARGE = /^(.*?)\s*(BPF program is too large\..*)$/;

/** Split a state (`R1=ctx() R2=scalar(smin=0,var_off=(0x0; 0xff)) fp-8=mmmm????`) into entries, keeping parentheses whole. */
export function parseState(text: string): { state: Record<string, string>; frame: number } {
  const state: Record<string, string> = {};
  let frame = 0;
  let depth = 0;
  let start = 0;
  const take = (token: string) => {
    if (token.length === 0) return;
    const f = /^frame(\d+):$/.exec(token);
    if (f) {
      frame = Number(f[1]);
      return;
    }
    const eq = token.indexOf("=");
    if (eq > 0) state[token.slice(0, eq)] = token.slice(eq + 1);
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 /* ( */) depth++;
    else if (c === 41 /* ) */ && depth > 0) depth--;
    else if (c === 32 /* space */ && depth === 0) {
      take(text.slice(start, i));
      start = i + 1;
    }
  }
  take(text.slice(start));
  return { state, frame };
}

function isStatsLine(line: string): boolean {
  return STATS.test(line) || TIME.test(line) || DEPTH.test(line);
}

/**
 * Parse a verifier log (the text the kernel wrote, or its lines). Never throws for any string:
 * lines it does not know end up in `other`.
 */
export function parseVerifierLog(log: string | readonly string[]): VerifierLog {
  const lines = (typeof log === "string" ? log.split("\n") : log).map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const instructions: LogInstruction[] = [];
  const branches: LogBranch[] = [];
  const subprograms: LogSubprogram[] = [];
  const other: number[] = [];
  let stats: VerifierStats | undefined;
  let verificationTimeUsec: number | undefined;
  let stackDepth: number[] | undefined;
  let source: LogSourceLine | undefined;
  let path = 0;
  let lastStructural = -1; // last line that is an instruction or a state
  let tailError: { line: number; text: string } | undefined;

  const startPath = (to: number, stateText: string, line: number, from?: number) => {
    const { state } = parseState(stateText);
    if (branches.length > 0 || instructions.length > 0) path++;
    branches.push({ from, to, state, line });
    lastStructural = line;
  };

  for (let i = 0; i < lines.length; i++) {
    let text = lines[i];
    let m: RegExpExecArray | null;
    if ((m = INSN.exec(text))) {
      let rest = m[3];
      const big = rest.includes("BPF program is too large") ? TOO_LARGE.exec(rest) : null;
      if (big && big[1].length > 0) {
        rest = big[1];
        tailError = { line: i, text: big[2] };
      }
      let branchTo: { to: number; state: string } | undefined;
      const b = rest.includes("goto") ? BRANCH_TAIL.exec(rest) : null;
      if (b) {
        rest = b[1];
        branchTo = { to: Number(b[2]), state: b[3] };
      }
      const semi = rest.search(/\s+; /);
      const insnText = semi < 0 ? rest.trim() : rest.slice(0, semi).trim();
      const stateText = semi < 0 ? "" : rest.slice(rest.indexOf("; ", semi) + 2);
      instructions.push(new LogInstruction(Number(m[1]), parseInt(m[2], 16), insnText, stateText, source, path, i));
      lastStructural = i;
      if (branchTo) startPath(branchTo.to, branchTo.state, i, Number(m[1]));
      continue;
    }
    if ((m = FROM_TO.exec(text))) {
      startPath(Number(m[2]), m[3], i, Number(m[1]));
      continue;
    }
    if ((m = PATH_START.exec(text))) {
      startPath(Number(m[1]), m[2], i);
      continue;
    }
    if ((m = SOURCE.exec(text))) {
      source = m[2] !== undefined ? { text: m[1].trim(), file: m[2], line: Number(m[3]) } : { text: m[1].trim() };
      continue;
    }
    if ((m = STATS.exec(text))) {
      stats = {
        processedInsns: Number(m[1]),
        insnLimit: Number(m[2]),
        maxStatesPerInsn: Number(m[3]),
        totalStates: Number(m[4]),
        peakStates: Number(m[5]),
        markRead: Number(m[6]),
      };
      continue;
    }
    if ((m = FUNC.exec(text))) {
      subprograms.push({ index: Number(m[1]), start: Number(m[2]) });
      continue;
    }
    if ((m = TIME.exec(text))) {
      verificationTimeUsec = Number(m[1]);
      continue;
    }
    if ((m = DEPTH.exec(text))) {
      stackDepth = m[1].split("+").filter((s) => s !== "").map(Number);
      continue;
    }
    other.push(i);
    text = "";
  }

  // The error: what follows the last instruction or state, minus stats lines.
  const errorLines: string[] = [];
  if (tailError && tailError.line >= lastStructural) errorLines.push(tailError.text);
  for (let i = lastStructural + 1; i < lines.length; i++) {
    const l = lines[i];
    if (l === "" || isStatsLine(l) || SOURCE.test(l) || FUNC.test(l)) continue;
    errorLines.push(l);
  }
  const failingInstruction = instructions.length > 0 ? instructions[instructions.length - 1] : undefined;
  return {
    lines,
    instructions,
    branches,
    subprograms,
    errorLines,
    ...(errorLines.length > 0 ? { error: errorLines[0] } : {}),
    ...(failingInstruction ? { failingInstruction } : {}),
    ...(stats ? { stats } : {}),
    ...(verificationTimeUsec !== undefined ? { verificationTimeUsec } : {}),
    ...(stackDepth ? { stackDepth } : {}),
    other,
  };
}

/**
 * The full state the verifier knew before the instruction at `position` of `log.instructions`:
 * the state its path started with, with every change printed since applied. Walks back at most
 * to the start of that path.
 */
export function stateBefore(log: VerifierLog, position: number): RegisterState {
  const insn = log.instructions[position];
  if (!insn) throw new RangeError(`stateBefore: no instruction at position ${position}`);
  const changes: RegisterState[] = [];
  let k = position - 1;
  for (; k >= 0 && log.instructions[k].path === insn.path; k--) changes.push(log.instructions[k].after);
  // The path's start state: the last branch printed before the first instruction of the path.
  const firstLine = k + 1 < position ? log.instructions[k + 1].line : insn.line;
  let start: RegisterState = {};
  for (let b = log.branches.length - 1; b >= 0; b--) {
    if (log.branches[b].line < firstLine) {
      start = log.branches[b].state;
      break;
    }
  }
  const out: Record<string, string> = { ...start };
  for (let c = changes.length - 1; c >= 0; c--) Object.assign(out, changes[c]);
  return out;
}
