/**
 * Instruction set probes, as bpftool's "misc" section asks them: a socket filter using the
 * instructions of each ISA version (v2: BPF_JLT and friends; v3: JMP32; v4: sign extension and
 * `gotol`), one of more than 4096 instructions, and one with a bounded loop.
 */
import { exit, gotol, jeq32, jlt, jlt32, jne, mov64, sub64 } from "../asm/builder.js";
import type { Instruction } from "../asm/instruction.js";
import { PROGRAM_TYPES } from "../spec/program-type.js";
import { tryLoad } from "./calls.js";
import { cachedProbe, classifyErrno, supported, type Outcome, type ProbeResult } from "./probe.js";

const ENOTSUPP = 524;

function loads(insns: readonly Instruction[], what: string): Outcome {
  const r = tryLoad({ progType: PROGRAM_TYPES.socket_filter, insns });
  if (r.errno === 0) return supported();
  // Some JITs (arm64) answer ENOTSUPP for an instruction they cannot translate.
  if (r.errno === ENOTSUPP) return { status: "unsupported", errno: r.errno, detail: `the JIT cannot translate ${what}` };
  const c = classifyErrno(r.errno, "BPF_PROG_LOAD");
  if (c) return c;
  return { status: "unsupported", errno: r.errno, detail: `the verifier refused ${what} (errno ${r.errno})` };
}

/** ISA v2 (BPF_JLT, JLE, JSLT, JSLE): Linux 4.14. Cached. */
export const probeIsaV2: () => ProbeResult = cachedProbe("ISA v2 (BPF_JLT/JLE/JSLT/JSLE)", "4.14", () =>
  loads([mov64("r0", 0), jlt("r0", 0, 1), mov64("r0", 1), exit()], "BPF_JLT"),
);

/** ISA v3 (32-bit jumps, BPF_JMP32): Linux 5.1. Cached. */
export const probeIsaV3: () => ProbeResult = cachedProbe("ISA v3 (BPF_JMP32)", "5.1", () =>
  loads([mov64("r0", 0), jlt32("r0", 0, 1), mov64("r0", 1), exit()], "a BPF_JMP32 jump"),
);

/** ISA v4 (sign-extending moves and loads, sdiv/smod, bswap, `gotol`): Linux 6.6. Cached. */
export const probeIsaV4: () => ProbeResult = cachedProbe("ISA v4 (sign extension, gotol)", "6.6", () =>
  loads([mov64("r0", 0), jeq32("r0", 1, 1), gotol(1), mov64("r0", 1), exit()], "a gotol (BPF_JMP32 | BPF_JA)"),
);

/** Programs of more than 4096 instructions (1M for privileged users): Linux 5.2. Cached. */
export const probeLargeInsnLimit: () => ProbeResult = cachedProbe("programs of more than 4096 instructions", "5.2", () => {
  const insns: Instruction[] = [];
  for (let i = 0; i < 4096; i++) insns.push(mov64("r0", 1));
  insns.push(exit());
  return loads(insns, "a program of 4097 instructions");
});

/** Bounded loops (back-edges the verifier can bound): Linux 5.3. Cached. */
export const probeBoundedLoops: () => ProbeResult = cachedProbe("bounded loops", "5.3", () =>
  loads([mov64("r0", 10), sub64("r0", 1), jne("r0", 0, -2), exit()], "a bounded loop"),
);

/** The newest ISA version the kernel loads: 4, 3, 2 or 1. Cached through the probes. */
export function isaVersion(): 1 | 2 | 3 | 4 {
  if (probeIsaV4().status === "supported") return 4;
  if (probeIsaV3().status === "supported") return 3;
  if (probeIsaV2().status === "supported") return 2;
  return 1;
}
