/**
 * The catalogue of verifier rejections tsbpf recognises: for each, how to recognise it in the
 * log, what most likely caused it and what to change. Pure data and small functions; the
 * regular expressions are only compiled when a rejection is explained.
 */
import type { VerifierLog } from "./parse.js";

/** What an entry says about one rejection. */
export interface EntryVerdict {
  /** Overrides the entry's id when one message covers several causes (e.g. which reference leaked). */
  category?: string;
  cause: string;
  fix: string;
  /** The instruction slot the explanation is about (default: where the verifier stopped). */
  instruction?: number;
  /** Registers whose state explains the rejection (`["R0"]`). */
  registers?: readonly string[];
}

/** What an entry may look at besides the matched error line. */
export interface EntryInput {
  readonly match: RegExpExecArray;
  readonly log: VerifierLog;
  /** The text of the instruction the verifier stopped at, if any. */
  readonly failing?: string;
  readonly programType?: string;
  readonly license?: string;
  /** Slots of BPF-to-BPF calls and of calls to `helper` in the loaded program (when known). */
  findCall(kind: "subprogram" | { helper: number }): number | undefined;
  /** The text of the last walked instruction at `slot`, if the log shows it. */
  textAt(slot: number): string | undefined;
}

/** One known rejection. */
export interface CatalogueEntry {
  /** Stable id: the explanation's `category`. */
  readonly id: string;
  /** A few words: "possibly-NULL pointer dereferenced". */
  readonly title: string;
  /** The error-line pattern, as source (compiled on first use). */
  readonly pattern: string;
  /** A log line that this entry recognises (used by the docs and tests). */
  readonly example: string;
  /** The instruction the verifier stops at in `example`, when the entry looks at it (default `exit`). */
  readonly exampleInstruction?: string;
  /** Further categories this entry may report (see EntryVerdict.category). */
  readonly variants?: readonly string[];
  explain(input: EntryInput): EntryVerdict | undefined;
}

const helperOf = (text: string | undefined): string | undefined => /call (\w+)#/.exec(text ?? "")?.[1];
const isStore = (text: string | undefined): boolean => /^\*\(/.test(text ?? "") || /^lock \*/.test(text ?? "");

/** The catalogue, in matching order: the first entry whose pattern matches and that gives a verdict wins. */
export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: "null-map-value",
    title: "possibly-NULL pointer dereferenced",
    pattern: String.raw`R(\d+) invalid mem access '(\w*or_null\w*)'`,
    example: "R0 invalid mem access 'map_value_or_null'",
    explain: ({ match }) => ({
      cause: `R${match[1]} is ${match[2]}: the pointer a lookup (bpf_map_lookup_elem, bpf_ringbuf_reserve, a socket lookup…) returned may be NULL, and it is dereferenced before any NULL check`,
      fix: "check it first (`if (!p) return 0;`) and use it only on the path where it is not NULL",
      registers: [`R${match[1]}`],
    }),
  },
  {
    id: "packet-bounds",
    title: "packet access without a bounds check",
    pattern: String.raw`invalid access to packet, off=(-?\d+) size=(\d+)|R(\d+) offset is outside of the packet`,
    example: "invalid access to packet, off=20 size=1, R1(id=0,off=20,r=0)",
    explain: ({ match }) => {
      const end = match[1] !== undefined ? Number(match[1]) + Number(match[2]) : undefined;
      return {
        cause: `the program reads or writes packet bytes${end !== undefined ? ` up to offset ${end}` : ""} before proving they are inside the packet, i.e. with no comparison against data_end that covers them`,
        fix: `compare first, on the same pointer: \`if ((void *)data + ${end ?? "N"} > data_end) return XDP_PASS;\` (or TC_ACT_OK), then access`,
        registers: match[3] !== undefined ? [`R${match[3]}`] : undefined,
      };
    },
  },
  {
    id: "map-value-bounds",
    title: "access outside the map value",
    pattern: String.raw`invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)`,
    example: "invalid access to map value, value_size=16 off=16 size=4",
    explain: ({ match }) => ({
      cause: `the access covers bytes ${match[2]}..${Number(match[2]) + Number(match[3])} of a map value that is only ${match[1]} bytes long`,
      fix: `keep every access inside the value (index < ${match[1]} / element size, or check a variable index against the array length first), or make the map's value type larger`,
    }),
  },
  {
    id: "unbounded-index",
    title: "memory access with an unbounded offset",
    pattern: String.raw`R(\d+) unbounded memory access|R(\d+) (?:min|max) value is outside of the allowed memory range`,
    example: "R0 unbounded memory access, make sure to bounds check any such access",
    explain: ({ match }) => {
      const r = match[1] ?? match[2];
      return {
        cause: `R${r} points at memory with a variable offset whose range the verifier cannot bound, so the access may fall outside the object`,
        fix: "check the index against the array length right before the access (`if (i >= N) return 0;`, with an unsigned i), or mask it (`i & (N - 1)` for a power of two)",
        registers: [`R${r}`],
      };
    },
  },
  {
    id: "packet-variable-offset",
    title: "packet pointer moved by an unbounded amount",
    pattern: String.raw`math between pkt pointer and register with unbounded min value is not allowed|value (-?\d+) makes pkt pointer be out of bounds`,
    example: "math between pkt pointer and register with unbounded min value is not allowed",
    explain: () => ({
      cause: "a packet pointer is moved by a value whose range is unknown (it may be negative or huge), so no later data_end check could make the access safe",
      fix: "bound the offset before adding it (`off &= 0xff;` or `if (off > 1500) return XDP_PASS;`), then check `p + size > data_end` after the addition",
    }),
  },
  {
    id: "negative-index",
    title: "index that may be negative",
    pattern: String.raw`math between (\w+) pointer and register with unbounded min value is not allowed|R(\d+) min value is negative`,
    example: "math between map_value pointer and register with unbounded min value is not allowed",
    explain: ({ match }) => ({
      cause: `an index added to a ${match[1] ?? "memory"} pointer has no lower bound: it is signed, and the check in front of it tests only its upper side`,
      fix: "make the index unsigned (`__u32 i`), or test both sides (`if (i < 0 || i >= N) return 0;`) before the access",
    }),
  },
  {
    id: "forbidden-pointer-arithmetic",
    title: "arithmetic on a pointer type that forbids it",
    pattern: String.raw`R(\d+) pointer arithmetic on (\S+) prohibited`,
    example: "R2 pointer arithmetic on pkt_end prohibited",
    explain: ({ match }) => ({
      cause: `R${match[1]} is a ${match[2]} pointer, which may not be moved: only pointers to packet data, map values, stack and memory buffers allow arithmetic`,
      fix: match[2] === "pkt_end"
        ? "move the data pointer instead: compare `data + N > data_end` rather than `data > data_end - N`"
        : `keep ${match[2]} pointers as they are and compute on a pointer the verifier lets you move`,
      registers: [`R${match[1]}`],
    }),
  },
  {
    id: "scalar-as-pointer",
    title: "a number used as a pointer",
    pattern: String.raw`R(\d+) invalid mem access 'scalar'`,
    example: "R1 invalid mem access 'scalar'",
    explain: ({ match }) => ({
      cause: `R${match[1]} holds a plain number (a scalar), not a pointer the verifier tracks, and it is dereferenced`,
      fix: "dereference only pointers the verifier gave you (ctx, map values, packet, stack); read kernel memory by address with bpf_probe_read_kernel() or bpf_core_read()",
      registers: [`R${match[1]}`],
    }),
  },
  {
    id: "missing-return-value",
    title: "exit without a return value",
    pattern: String.raw`R0 !read_ok`,
    example: "R0 !read_ok",
    explain: ({ failing }) =>
      failing === "exit"
        ? { cause: "the program (or a subprogram) reaches exit without writing R0, its return value", fix: "set R0 before exit (`r0 = 0`; in C, return a value on every path)", registers: ["R0"] }
        : undefined,
  },
  {
    id: "uninitialized-register",
    title: "register read before it was written",
    pattern: String.raw`R(\d+) !read_ok`,
    example: "R9 !read_ok",
    exampleInstruction: "r0 = r9",
    explain: ({ match }) => ({
      cause: `R${match[1]} is read before anything wrote it on this path (at entry only R1 (the context) and R10 (the frame pointer) are set, and a call clobbers R1–R5)`,
      fix: `write R${match[1]} before reading it, and reload R1–R5 after each call; in C, initialise the variable on every path`,
    }),
  },
  {
    id: "stack-buffer-too-small",
    title: "helper reads more than the stack buffer holds",
    pattern: String.raw`invalid (?:indirect )?read from stack R(\d+) off[= ]?(-?\d+)(?:\+\d+)? size[= ]?(\d+)`,
    example: "invalid read from stack R2 off=-8 size=16",
    explain: ({ match }) =>
      Number(match[2]) + Number(match[3]) > 0
        ? {
          cause: `R${match[1]} points at a stack buffer at fp${match[2]}, but the helper reads ${match[3]} bytes from it, past the end of the buffer (the map's key or value size, or the size argument, is larger than the variable)`,
          fix: "pass a variable of exactly the map's key/value type (or a buffer at least as large as the size argument)",
          registers: [`R${match[1]}`],
        }
        : undefined,
  },
  {
    id: "uninitialized-stack",
    title: "stack read before it was written",
    pattern: String.raw`invalid (?:indirect )?read from stack (?:R\d+ )?off[= ]?(-?\d+)(?:\+\d+)? size[= ]?(\d+)`,
    example: "invalid indirect read from stack R2 off -16+0 size 16",
    explain: ({ match }) => ({
      cause: `stack bytes at fp${match[1]} (${match[2]} bytes) are read, or passed to a helper, before they were written (only privileged loaders may read uninitialised stack)`,
      fix: "initialise the variable or buffer first (`struct key k = {};` or __builtin_memset)",
    }),
  },
  {
    id: "stack-too-large",
    title: "stack larger than 512 bytes",
    pattern: String.raw`combined stack size of (\d+) calls is (\d+)\. Too large|invalid (?:write|read) to stack R10 off=(-\d+)`,
    example: "combined stack size of 2 calls is 640. Too large",
    explain: ({ match, findCall }) => ({
      cause: match[1] !== undefined
        ? `a chain of ${match[1]} nested BPF functions uses ${match[2]} bytes of stack together, more than the 512 the kernel gives a program`
        : `the program uses stack at fp${match[3]}, below the 512-byte limit`,
      fix: "move large buffers into a per-CPU array map (one entry, looked up at entry) or shrink them; mark small helpers __always_inline so their frames are not stacked",
      instruction: match[1] !== undefined ? findCall("subprogram") : undefined,
    }),
  },
  {
    id: "program-too-large",
    title: "too many instructions to verify",
    pattern: String.raw`BPF program is too large\. Processed (\d+) insn`,
    example: "BPF program is too large. Processed 1000001 insn",
    explain: ({ match, log }) => {
      const hot = hotspot(log);
      return {
        cause: `the verifier walked ${match[1]} instructions, its limit, because it explores every path and every loop iteration${hot ? `; most of them at instruction ${hot.index}, which it walked ${hot.count} times in the last ${hot.window}` : ""}`,
        fix: "bound loops by a small constant, or use bpf_loop()/bpf_for() for long loops so the body is verified once; split big programs with tail calls or global (non-static) functions, which are verified separately",
        instruction: hot?.index,
      };
    },
  },
  {
    id: "too-complex",
    title: "too many branches pending",
    pattern: String.raw`The sequence of (\d+) jumps is too complex`,
    example: "The sequence of 8193 jumps is too complex.",
    explain: ({ match, log }) => {
      const hot = hotspot(log);
      return {
        cause: `the verifier had ${match[1]} branches waiting to be explored: every pass through a branch inside a loop doubles the states${hot ? `, and the branch at instruction ${hot.index} is where they pile up` : ""}`,
        fix: "make the loop body branch-free or move it into bpf_loop()/bpf_for() so it is verified once, and keep loop-carried state in few variables so states can be pruned",
        instruction: hot?.index,
      };
    },
  },
  {
    id: "infinite-loop",
    title: "loop that never ends",
    pattern: String.raw`infinite loop detected at insn (\d+)`,
    example: "infinite loop detected at insn 1",
    explain: ({ match }) => ({
      cause: `the verifier came back to instruction ${match[1]} in exactly the same state, so the loop cannot make progress and never exits`,
      fix: "make the loop condition depend on a value that changes each iteration (a counter compared with a constant), or use bpf_loop()/bpf_for()",
      instruction: Number(match[1]),
    }),
  },
  {
    id: "back-edge",
    title: "loop the verifier refuses to walk",
    pattern: String.raw`back-edge from insn (\d+) to (\d+)`,
    example: "back-edge from insn 7 to 3",
    explain: ({ match }) => ({
      cause: `instruction ${match[1]} jumps back to ${match[2]}, a loop, which this kernel or this (unprivileged) loader does not allow`,
      fix: "unroll the loop (`#pragma unroll` with a constant bound), or load as root on Linux 5.3+ where bounded loops are verified",
      instruction: Number(match[1]),
    }),
  },
  {
    id: "unreachable-instruction",
    title: "unreachable instruction",
    pattern: String.raw`unreachable insn (\d+)`,
    example: "unreachable insn 2",
    explain: ({ match }) => ({
      cause: `instruction ${match[1]} can never run: no path reaches it (dead code after an exit or an unconditional jump)`,
      fix: "remove the dead instructions (in inline asm, code after `exit`), or add the jump that should reach them",
      instruction: Number(match[1]),
    }),
  },
  {
    id: "helper-not-allowed",
    title: "helper not allowed for this program type",
    pattern: String.raw`program of this type cannot use helper (\w+)#(\d+)|unknown func (\w+)#(\d+)`,
    example: "program of this type cannot use helper bpf_skb_load_bytes#26",
    explain: ({ match, programType }) => {
      const name = match[1] ?? match[3];
      return {
        cause: `${name} is not offered to ${programType ? `${programType} programs` : "this program type"} (each type gets its own set of helpers; some need a newer kernel, a sleepable program or lockdown off)`,
        fix: `use a helper of this type instead (for XDP, bpf_xdp_load_bytes rather than bpf_skb_load_bytes), or move the code to a program type that has ${name} (bpftool feature probe lists them)`,
      };
    },
  },
  {
    id: "kfunc-not-allowed",
    title: "kfunc not allowed for this program type",
    pattern: String.raw`calling kernel function (\w+) is not allowed`,
    example: "calling kernel function bpf_task_from_pid is not allowed",
    explain: ({ match, programType }) => ({
      cause: `the kfunc ${match[1]} is registered for other program types than ${programType ?? "this one"}`,
      fix: `call it from a program type its kfunc set is registered for (tracing, LSM, syscall…: see the kernel's register_btf_kfunc_id_set for ${match[1]}), or use a helper this type has`,
    }),
  },
  {
    id: "kfunc-null-argument",
    title: "possibly-NULL pointer passed to a kfunc",
    pattern: String.raw`Possibly NULL pointer passed to trusted arg(\d+)|Possibly NULL pointer passed to helper arg(\d+)`,
    example: "Possibly NULL pointer passed to trusted arg0",
    explain: ({ match }) => {
      const arg = Number(match[1] ?? match[2]);
      return {
        cause: `argument ${arg} (R${arg + 1}) may be NULL, and the kfunc requires a trusted, non-NULL pointer (an acquiring kfunc such as bpf_task_from_pid returns NULL on failure)`,
        fix: "check the pointer for NULL first and call the kfunc only on the non-NULL path",
        registers: [`R${arg + 1}`],
      };
    },
  },
  {
    id: "gpl-only",
    title: "GPL-only helper in a non-GPL program",
    pattern: String.raw`cannot call GPL-restricted function from non-GPL compatible program`,
    example: "cannot call GPL-restricted function from non-GPL compatible program",
    explain: ({ license, failing }) => ({
      cause: `${helperOf(failing) ?? "this helper"} is GPL-only and the program's license is ${license === undefined ? "missing (no \"license\" section)" : `"${license}", which is not GPL-compatible`}`,
      fix: 'declare a GPL-compatible license: `char LICENSE[] SEC("license") = "GPL";` (or "Dual BSD/GPL"), or avoid the GPL-only helper',
    }),
  },
  {
    id: "reference-leak",
    title: "acquired reference not released",
    pattern: String.raw`Unreleased reference id=(\d+) alloc_insn=(\d+)`,
    example: "Unreleased reference id=2 alloc_insn=5",
    variants: ["ringbuf-leak", "socket-leak"],
    explain: ({ match, textAt }) => {
      const at = Number(match[2]);
      const what = helperOf(textAt(at));
      if (what !== undefined && /ringbuf_reserve/.test(what)) {
        return {
          category: "ringbuf-leak",
          cause: `the ring buffer record reserved at instruction ${at} (${what}) is neither submitted nor discarded on some path to exit`,
          fix: "call bpf_ringbuf_submit() or bpf_ringbuf_discard() on every path after a successful reserve, including early returns",
          instruction: at,
        };
      }
      if (what !== undefined && /sk_lookup|skc_lookup|sk_fullsock|tcp_sock|get_listener_sock/.test(what)) {
        return {
          category: "socket-leak",
          cause: `the socket returned at instruction ${at} (${what}) is not released on some path to exit`,
          fix: "call bpf_sk_release(sk) on every path where the lookup returned a socket, after you are done reading it",
          instruction: at,
        };
      }
      return {
        cause: `the reference acquired at instruction ${at}${what ? ` (${what})` : ""} is not released on some path to exit`,
        fix: `release it on every path (the matching *_release kfunc, e.g. bpf_task_release for bpf_task_from_pid), or store it in a map as a kptr with bpf_kptr_xchg`,
        instruction: at,
      };
    },
  },
  {
    id: "lock-across-call",
    title: "call while holding a spin lock",
    pattern: String.raw`function calls are not allowed while holding a lock`,
    example: "function calls are not allowed while holding a lock",
    explain: ({ failing }) => ({
      cause: `${helperOf(failing) ?? "a function"} is called between bpf_spin_lock() and bpf_spin_unlock(), where only plain loads and stores are allowed`,
      fix: "compute what you need before bpf_spin_lock() (into a local variable) and keep only the stores inside the locked region",
    }),
  },
  {
    id: "lock-not-released",
    title: "spin lock held at exit",
    pattern: String.raw`cannot be used inside bpf_spin_lock-ed region|bpf_spin_unlock is missing|bpf_spin_unlock without taking a lock`,
    example: "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region",
    explain: ({ log }) => ({
      cause: "a path leaves the program (return) while the bpf_spin_lock is still held",
      fix: "call bpf_spin_unlock() before every return inside the locked region, or move the return after the unlock",
      instruction: branchIntoFailingPath(log),
    }),
  },
  {
    id: "misaligned-access",
    title: "misaligned memory access",
    pattern: String.raw`misaligned (\w+)? ?access off (\S+) size (\d+)`,
    example: "misaligned stack access off 0+0+-13 size 8",
    explain: ({ match }) => ({
      cause: `a ${match[3]}-byte ${match[1] ?? "memory"} access at offset ${match[2]} is not aligned to ${match[3]} bytes (the stack is always strict; packets when BPF_F_STRICT_ALIGNMENT is set)`,
      fix: "align the offset to the access size, use a narrower access, or copy the bytes with __builtin_memcpy into an aligned variable",
    }),
  },
  {
    id: "readonly-map-write",
    title: "write to read-only memory",
    pattern: String.raw`write into map forbidden, value_size=(\d+) off=(-?\d+) size=(\d+)`,
    example: "write into map forbidden, value_size=4 off=0 size=4",
    explain: () => ({
      cause: "the program writes into a map the program may only read: a const global (.rodata, frozen at load) or a map created with BPF_F_RDONLY_PROG",
      fix: "make the variable non-const (it then lives in .data or .bss), or set the value from user space before load (spec.variables.NAME.value)",
    }),
  },
  {
    id: "ctx-write",
    title: "write to a read-only context field",
    pattern: String.raw`invalid bpf_context access off=(\d+) size=(\d+)`,
    example: "invalid bpf_context access off=0 size=4",
    exampleInstruction: "*(u32 *)(r1 +0) = r2",
    explain: ({ match, failing, programType }) =>
      isStore(failing)
        ? {
          cause: `the program writes the context field at offset ${match[1]}, which ${programType ?? "this program type"} may only read`,
          fix: "keep the context read-only; change the packet or socket through the type's helpers (bpf_xdp_adjust_head, bpf_skb_store_bytes…) or copy the value to a local variable",
        }
        : undefined,
  },
  {
    id: "ctx-bad-offset",
    title: "invalid context offset",
    pattern: String.raw`invalid bpf_context access off=(\d+) size=(\d+)`,
    example: "invalid bpf_context access off=96 size=4",
    explain: ({ match, programType }) => ({
      cause: `the context of ${programType ?? "this program type"} has no ${match[2]}-byte field at offset ${match[1]} that the program may access`,
      fix: "access the context only through the fields of its C struct (struct xdp_md, struct __sk_buff…) with their own size, for the right program type (check the SEC() name)",
    }),
  },
  {
    id: "modified-ctx-pointer",
    title: "dereference of a moved context pointer",
    pattern: String.raw`dereference of modified ctx ptr R(\d+) off=(-?\d+) disallowed`,
    example: "dereference of modified ctx ptr R1 off=4 disallowed",
    explain: ({ match }) => ({
      cause: `R${match[1]} is the context pointer moved by ${match[2]} bytes; context fields must be read at a constant offset from the unmodified pointer, because the kernel rewrites those accesses`,
      fix: "read fields directly from the context (`ctx->field`), not through a pointer into it; in C, avoid keeping `&ctx->field` in a variable",
      registers: [`R${match[1]}`],
    }),
  },
  {
    id: "sleepable-only",
    title: "sleepable-only function in a non-sleepable program",
    pattern: String.raw`program must be sleepable to call sleepable kfunc (\w+)|helper call might sleep in a non-sleepable prog|sleepable helper (\w+)#\d+ in non-sleepable prog`,
    example: "program must be sleepable to call sleepable kfunc bpf_copy_from_user_str",
    explain: ({ match, failing }) => ({
      cause: `${match[1] ?? match[2] ?? helperOf(failing) ?? "this function"} may sleep (it can fault in user memory), and this program runs in a context that must not sleep`,
      fix: 'load the program as sleepable (a ".s" section: SEC("fentry.s/…"), SEC("lsm.s/…"), SEC("uprobe.s/…"), i.e. BPF_F_SLEEPABLE), or use the non-sleeping variant (bpf_probe_read_user_str)',
    }),
  },
  {
    id: "tail-call-stack",
    title: "tail call with too much stack in the callers",
    pattern: String.raw`tail_calls are not allowed when call stack of previous frames is (\d+) bytes`,
    example: "tail_calls are not allowed when call stack of previous frames is 304 bytes. Too large",
    explain: ({ match, findCall }) => ({
      cause: `a subprogram does a tail call while the frames that called it hold ${match[1]} bytes of stack, more than the 256 allowed with tail calls in subprograms`,
      fix: "shrink the callers' stack (move buffers into a per-CPU array map), or do the tail call from the main function",
      instruction: findCall({ helper: 12 }),
    }),
  },
  {
    id: "return-value-range",
    title: "return value outside the allowed range",
    pattern: String.raw`At program exit the register R0 has (.*?) should have been in \[(-?\w+), (-?\w+)\]`,
    example: "At program exit the register R0 has smin=3 smax=3 should have been in [0, 1]",
    explain: ({ match, programType }) => ({
      cause: `the program may return ${match[1]}, but ${programType ?? "this program type"} must return a value in [${match[2]}, ${match[3]}]`,
      fix: `return only values in [${match[2]}, ${match[3]}] (for cgroup programs 1 allows and 0 denies); clamp a computed value before returning it`,
      registers: ["R0"],
    }),
  },
  {
    id: "helper-arg-type",
    title: "wrong argument type for a helper",
    pattern: String.raw`R(\d+) type=(\S+) expected=(.*)`,
    example: "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem",
    explain: ({ match, failing }) => ({
      cause: `argument ${Number(match[1])} of ${helperOf(failing) ?? "the call"} (R${match[1]}) is a ${match[2]}, but the helper wants one of: ${match[3].replace(/,\s*$/, "")}`,
      fix: match[2] === "scalar"
        ? "pass a pointer to a variable (`&key`, on the stack or in a map value), not the value itself or an integer cast to a pointer"
        : `pass a pointer of an expected kind (${match[3].split(",")[0].trim()}), e.g. a variable on the stack`,
      registers: [`R${match[1]}`],
    }),
  },
];

/**
 * The branch that led to the failing instruction, when that instruction starts its path (the
 * compiler often merges every return into one exit: the branch says which return it was).
 */
function branchIntoFailingPath(log: VerifierLog): number | undefined {
  const insns = log.instructions;
  const last = insns[insns.length - 1];
  if (!last || (insns.length > 1 && insns[insns.length - 2].path === last.path)) return undefined;
  for (let b = log.branches.length - 1; b >= 0; b--) if (log.branches[b].line <= last.line) return log.branches[b].from;
  return undefined;
}

/**
 * Where states explode: the conditional jump walked most often in the last part of the log
 * (the loop or branch whose paths the verifier keeps re-exploring); ties go to the later jump,
 * the branch inside the loop rather than the loop's own test.
 */
export function hotspot(log: VerifierLog): { index: number; count: number; window: number } | undefined {
  const insns = log.instructions;
  if (insns.length === 0) return undefined;
  const window = Math.min(insns.length, 20000);
  const jumps = new Map<number, number>();
  const all = new Map<number, number>();
  for (let i = insns.length - window; i < insns.length; i++) {
    const { index, opcode } = insns[i];
    all.set(index, (all.get(index) ?? 0) + 1);
    const cls = opcode & 0x07;
    const op = opcode & 0xf0;
    if ((cls === 0x05 || cls === 0x06) && op !== 0x00 && op !== 0x80 && op !== 0x90) jumps.set(index, (jumps.get(index) ?? 0) + 1);
  }
  let best = -1;
  let count = 0;
  for (const [index, c] of jumps.size > 0 ? jumps : all) {
    if (c > count || (c === count && index > best)) {
      best = index;
      count = c;
    }
  }
  return { index: best, count, window };
}
