/**
 * kprobe_multi: attach one kprobe program to many kernel functions at once with a single
 * bpf_link (BPF_LINK_CREATE of BPF_TRACE_KPROBE_MULTI, Linux 5.18), by symbol names or
 * addresses, with a cookie per function.
 */
import { BpfError, NotSupportedError } from "../errors.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import { NativeMemory } from "../sys/libc.js";
import { BPF_F, linkCreate } from "../sys/link-attr.js";
import { expectProgramType, BpfLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { KPROBES_MISSING } from "./kprobe.js";

/** Options of `attachKprobeMulti`. */
export interface KprobeMultiOptions {
  /** Kernel function names (exclusive with addresses). */
  symbols?: readonly string[];
  /** Kernel addresses (exclusive with symbols). */
  addresses?: readonly bigint[];
  /** One cookie per function (same length). */
  cookies?: readonly bigint[];
  /** Return probes. Default false. */
  retprobe?: boolean;
  /**
   * A session (Linux 6.10): the program runs on entry and, when that run returned 0, on return
   * (load it with expectedAttachType trace_kprobe_session). Default false.
   */
  session?: boolean;
}

const KEYS = ["symbols", "addresses", "cookies", "retprobe", "session"] as const;

/** The native arrays of a kprobe_multi attach (exported for layout tests). */
export function encodeKprobeMulti(options: KprobeMultiOptions): { count: number; syms?: NativeMemory; strings: NativeMemory[]; addrs?: NativeMemory; cookies?: NativeMemory } {
  const syms = options.symbols;
  const addrs = options.addresses;
  if ((syms === undefined) === (addrs === undefined)) throw new TypeError("attachKprobeMulti: give symbols or addresses (one of them)");
  const count = (syms ?? addrs)!.length;
  if (count === 0) throw new TypeError("attachKprobeMulti: no functions given");
  if (options.cookies && options.cookies.length !== count) throw new TypeError("attachKprobeMulti: cookies must have one entry per function");
  const strings: NativeMemory[] = [];
  let symsMem: NativeMemory | undefined;
  let addrsMem: NativeMemory | undefined;
  if (syms) {
    symsMem = new NativeMemory(count * 8);
    syms.forEach((s, i) => {
      if (typeof s !== "string" || !/^[A-Za-z0-9_.]+$/.test(s)) throw new TypeError(`attachKprobeMulti: bad symbol ${JSON.stringify(s)}`);
      const b = new TextEncoder().encode(s);
      const m = new NativeMemory(b.length + 1);
      m.bytes.set(b);
      strings.push(m);
      symsMem!.view.setBigUint64(i * 8, BigInt(m.address), true);
    });
  } else {
    addrsMem = new NativeMemory(count * 8);
    addrs!.forEach((a, i) => addrsMem!.view.setBigUint64(i * 8, a, true));
  }
  let cookies: NativeMemory | undefined;
  if (options.cookies) {
    cookies = new NativeMemory(count * 8);
    options.cookies.forEach((c, i) => cookies!.view.setBigUint64(i * 8, c, true));
  }
  return { count, syms: symsMem, strings, addrs: addrsMem, cookies };
}

/**
 * Attach a kprobe program (loaded with expected attach type trace_kprobe_multi) to many
 * functions. Min kernel 5.18. Throws NotSupportedError when the kernel lacks kprobe_multi
 * (EOPNOTSUPP: built without kprobes or fprobe), BpfError (ESRCH/ENOENT: unknown symbol).
 */
export function attachKprobeMulti(program: AttachProgram<"kprobe">, options: KprobeMultiOptions): Link {
  checkOptions("attachKprobeMulti", options, KEYS);
  expectProgramType(program, "kprobeMulti", "attachKprobeMulti");
  const progFd = programFd(program, "attachKprobeMulti: program");
  const enc = encodeKprobeMulti(options);
  if (options.session && options.retprobe) throw new TypeError("attachKprobeMulti: a session covers entry and return; retprobe does not apply");
  const label = `${options.session ? "kprobe_session" : "kprobe_multi"} (${enc.count} functions) ${programLabel(program)}`;
  try {
    const fd = linkCreate(
      {
        progFd,
        target: 0,
        attachType: options.session ? ATTACH_TYPES.trace_kprobe_session : ATTACH_TYPES.trace_kprobe_multi,
        flags: 0,
        extra: {
          kind: "kprobe_multi",
          flags: options.retprobe ? BPF_F.MULTI_RETURN : 0,
          count: enc.count,
          syms: enc.syms?.address ?? 0,
          addrs: enc.addrs?.address ?? 0,
          cookies: enc.cookies?.address ?? 0,
        },
      },
      `${label}: attach`,
    );
    return new BpfLink(fd, "kprobe_multi", label);
  } catch (e) {
    if (e instanceof BpfError && e.code === "EOPNOTSUPP") {
      throw new NotSupportedError("kprobe_multi links", { minKernel: "5.18", detail: KPROBES_MISSING, cause: e });
    }
    throw e;
  }
}
