/**
 * uprobe_multi: attach one program to many places of one binary with a single bpf_link
 * (BPF_LINK_CREATE of BPF_TRACE_UPROBE_MULTI, Linux 6.6), with per-place ref_ctr offsets and
 * cookies, optionally only for one process.
 */
import { ATTACH_TYPES } from "../spec/program-type.js";
import { NativeMemory } from "../sys/libc.js";
import { BPF_F, linkCreate } from "../sys/link-attr.js";
import { loadBinary, resolveBinaryPath, symbolFileOffset } from "./elf-symbols.js";
import { expectProgramType, BpfLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";

/** Options of `attachUprobeMulti`. */
export interface UprobeMultiOptions {
  /** The binary or library. */
  path: string;
  /** Functions to probe (resolved to file offsets). Either symbols or offsets. */
  symbols?: readonly string[];
  /** File offsets to probe. */
  offsets?: readonly number[];
  /** USDT semaphore file offsets, one per place (0 for none). */
  refCtrOffsets?: readonly number[];
  /** One cookie per place. */
  cookies?: readonly bigint[];
  /** Return probes. Default false. */
  retprobe?: boolean;
  /**
   * A session (Linux 6.13): the program runs on entry and, when the entry run returned 0, on
   * return too (load it with expectedAttachType trace_uprobe_session). Default false.
   */
  session?: boolean;
  /** Only this process (pid filter). Default: every process. */
  pid?: number;
}

const KEYS = ["path", "symbols", "offsets", "refCtrOffsets", "cookies", "retprobe", "session", "pid"] as const;

function u64Array(values: readonly (number | bigint)[]): NativeMemory {
  const m = new NativeMemory(values.length * 8);
  values.forEach((v, i) => m.view.setBigUint64(i * 8, BigInt(v), true));
  return m;
}

/**
 * Attach a kprobe program (loaded with expected attach type trace_uprobe_multi) to many
 * places of a binary. Min kernel 6.6 (pid filter 6.6). Throws TypeError, TsbpfError (missing
 * symbol), BpfError (EINVAL: wrong expected attach type; ESRCH: no such pid).
 */
export function attachUprobeMulti(program: AttachProgram<"kprobe">, options: UprobeMultiOptions): Link {
  checkOptions("attachUprobeMulti", options, KEYS);
  expectProgramType(program, "uprobeMulti", "attachUprobeMulti");
  const progFd = programFd(program, "attachUprobeMulti: program");
  const path = resolveBinaryPath(options.path);
  if ((options.symbols === undefined) === (options.offsets === undefined)) throw new TypeError("attachUprobeMulti: give symbols or offsets (one of them)");
  let offsets: number[];
  if (options.symbols) {
    const elf = loadBinary(path);
    offsets = options.symbols.map((s) => symbolFileOffset(elf, s, `uprobe_multi ${path}`));
  } else {
    offsets = [...options.offsets!];
    for (const o of offsets) if (!Number.isInteger(o) || o < 0) throw new TypeError("attachUprobeMulti: offsets must be non-negative integers");
  }
  const n = offsets.length;
  if (n === 0) throw new TypeError("attachUprobeMulti: nothing to probe");
  if (options.refCtrOffsets && options.refCtrOffsets.length !== n) throw new TypeError("attachUprobeMulti: refCtrOffsets needs one entry per place");
  if (options.cookies && options.cookies.length !== n) throw new TypeError("attachUprobeMulti: cookies needs one entry per place");
  const pid = options.pid ?? 0;
  if (!Number.isInteger(pid) || pid < 0) throw new TypeError("attachUprobeMulti: pid must be a process id");
  const enc = new TextEncoder().encode(path);
  const pathMem = new NativeMemory(enc.length + 1);
  pathMem.bytes.set(enc);
  const offsMem = u64Array(offsets);
  const refMem = options.refCtrOffsets ? u64Array(options.refCtrOffsets) : undefined;
  const cookieMem = options.cookies ? u64Array(options.cookies) : undefined;
  if (options.session && options.retprobe) throw new TypeError("attachUprobeMulti: a session covers entry and return; retprobe does not apply");
  const kind = options.session ? "uprobe_session" : "uprobe_multi";
  const label = `${kind} ${path} (${n} places) ${programLabel(program)}`;
  const fd = linkCreate(
    {
      progFd,
      target: 0,
      attachType: options.session ? ATTACH_TYPES.trace_uprobe_session : ATTACH_TYPES.trace_uprobe_multi,
      flags: 0,
      extra: {
        kind: "uprobe_multi",
        path: pathMem.address,
        offsets: offsMem.address,
        refCtrOffsets: refMem?.address ?? 0,
        cookies: cookieMem?.address ?? 0,
        count: n,
        flags: options.retprobe ? BPF_F.MULTI_RETURN : 0,
        pid,
      },
    },
    `${label}: attach`,
    (e) => (e === 3 ? `no process ${pid}` : e === 22 ? `the program must be a kprobe program loaded with expectedAttachType trace_${kind}` : undefined),
  );
  return new BpfLink(fd, "uprobe_multi", label);
}
