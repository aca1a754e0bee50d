/**
 * cgroup programs of every attach type (skb ingress/egress, sock create/release, sock_addr
 * connect/bind/sendmsg/…, sock_ops, device, sysctl, sockopt): by bpf_link (BPF_LINK_CREATE,
 * Linux 5.7), falling back to BPF_PROG_ATTACH with the multi/override flags on kernels
 * without cgroup links. Also: which programs a cgroup has.
 */
import { probeBpfLinks } from "../features/attach.js";
import { attachTypeName, attachTypeNumber, type AttachTypeName } from "../spec/program-type.js";
import { Fd } from "../sys/fd.js";
import { BPF_F, linkCreate, progDetach, progQuery } from "../sys/link-attr.js";
import { getFdById } from "../sys/obj.js";
import { openPath } from "../sys/fd.js";
import { expectProgramType, BpfLink, dupFd, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { progAttachLink } from "./prog-attach.js";
import { encodeOrdering, type OrderingOptions } from "./target.js";

/** The cgroup attach types, by name. */
export const CGROUP_ATTACH_TYPES = [
  "cgroup_inet_ingress",
  "cgroup_inet_egress",
  "cgroup_inet_sock_create",
  "cgroup_inet_sock_release",
  "cgroup_sock_ops",
  "cgroup_device",
  "cgroup_inet4_bind",
  "cgroup_inet6_bind",
  "cgroup_inet4_connect",
  "cgroup_inet6_connect",
  "cgroup_inet4_post_bind",
  "cgroup_inet6_post_bind",
  "cgroup_udp4_sendmsg",
  "cgroup_udp6_sendmsg",
  "cgroup_udp4_recvmsg",
  "cgroup_udp6_recvmsg",
  "cgroup_sysctl",
  "cgroup_getsockopt",
  "cgroup_setsockopt",
  "cgroup_inet4_getpeername",
  "cgroup_inet6_getpeername",
  "cgroup_inet4_getsockname",
  "cgroup_inet6_getsockname",
  "cgroup_unix_connect",
  "cgroup_unix_sendmsg",
  "cgroup_unix_recvmsg",
  "cgroup_unix_getpeername",
  "cgroup_unix_getsockname",
  "lsm_cgroup",
] as const satisfies readonly AttachTypeName[];
/** A cgroup attach type by name (`"cgroup_inet_ingress"`, `"cgroup_sock_ops"` …). */
export type CgroupAttachType = (typeof CGROUP_ATTACH_TYPES)[number];

/** A cgroup v2 directory (`/sys/fs/cgroup/unified/x`) or an open fd of one. */
export type CgroupRef = string | number | Fd;

/** Options of `attachCgroup`. */
export interface CgroupOptions extends OrderingOptions {
  /** The cgroup (v2 directory path or fd). */
  cgroup: CgroupRef;
  /** The hook, e.g. `"cgroup_inet_ingress"`, `"cgroup_inet4_connect"`, `"cgroup_sock_ops"`. */
  attachType: CgroupAttachType | number;
  /**
   * `"link"`: a bpf_link (pin/update; coexists with others). `"attach"`: BPF_PROG_ATTACH.
   * Default `"auto"`: a link, else BPF_PROG_ATTACH with `flags` on kernels without cgroup links.
   */
  method?: "auto" | "link" | "attach";
  /**
   * BPF_PROG_ATTACH flags: `"multi"` (BPF_F_ALLOW_MULTI, the default: programs of sub-cgroups
   * run too), `"override"` (BPF_F_ALLOW_OVERRIDE: a sub-cgroup's program replaces this one)
   * or `"none"` (exclusive).
   */
  flags?: "multi" | "override" | "none";
  /** BPF_PROG_ATTACH with multi: atomically replace this attached program (BPF_F_REPLACE). */
  replace?: AttachProgram;
}

const KEYS = ["cgroup", "attachType", "method", "flags", "replace", "before", "after", "expectedRevision"] as const;

const O_DIRECTORY = 0o200000;

interface OpenCgroup {
  /** The fd number to pass to the kernel. */
  value: number;
  name: string;
  /** Close it if we opened it. */
  release(): void;
  /** An Fd of our own for the same cgroup (for a later detach). */
  keep(): Fd;
}

function openCgroup(c: CgroupRef, what: string): OpenCgroup {
  if (c instanceof Fd) return { value: c.value, name: `cgroup fd ${c.value}`, release() {}, keep: () => c.dup() };
  if (typeof c === "number") {
    if (!Number.isInteger(c) || c < 0) throw new TypeError(`${what}: cgroup fd ${c} is invalid`);
    return { value: c, name: `cgroup fd ${c}`, release() {}, keep: () => dupFd(c, "cgroup") };
  }
  if (typeof c !== "string" || c.length === 0) throw new TypeError(`${what}: cgroup must be a path or an fd`);
  const fd = openPath(c, O_DIRECTORY);
  let kept = false;
  return {
    value: fd.value,
    name: `cgroup ${c}`,
    release() {
      if (!kept) fd.close();
    },
    keep() {
      kept = true;
      return fd;
    },
  };
}


const ATTACH_FLAGS = { multi: BPF_F.ALLOW_MULTI, override: BPF_F.ALLOW_OVERRIDE, none: 0 } as const;

/**
 * Attach a program to a cgroup. Returns a Link: a bpf_link, or (fallback / `method:
 * "attach"`) an attachment that BPF_PROG_DETACH removes on close. Min kernel 4.10 (links
 * 5.7, ordering 6.16: an anchor attached by link must be given as `{ link }` or `{ linkId }`).
 * Throws TypeError for bad options, BpfError (EINVAL: wrong program type for the hook, an
 * expected_attach_type mismatch for sock_addr programs, or an anchor given the wrong way).
 */
export function attachCgroup(program: AttachProgram<"cgroup_skb" | "cgroup_sock" | "cgroup_sock_addr" | "sock_ops" | "cgroup_device" | "cgroup_sysctl" | "cgroup_sockopt" | "lsm">, options: CgroupOptions): Link {
  checkOptions("attachCgroup", options, KEYS);
  const attachType = attachTypeNumber(options.attachType);
  const atName = attachTypeName(attachType) ?? String(attachType);
  const method = options.method ?? "auto";
  if (!["auto", "link", "attach"].includes(method)) throw new TypeError('attachCgroup: method must be "auto", "link" or "attach"');
  const flagName = options.flags ?? "multi";
  if (!Object.hasOwn(ATTACH_FLAGS, flagName)) throw new TypeError('attachCgroup: flags must be "multi", "override" or "none"');
  if (method === "link" && (options.flags !== undefined || options.replace !== undefined)) {
    throw new TypeError("attachCgroup: flags and replace apply to BPF_PROG_ATTACH; links are updated with link.update()");
  }
  expectProgramType(program, "cgroup", "attachCgroup");
  const progFd = programFd(program, "attachCgroup: program");
  const order = encodeOrdering(options, "attachCgroup");
  const cg = openCgroup(options.cgroup, "attachCgroup");
  const label = `cgroup ${atName} ${programLabel(program)} on ${cg.name}`;
  try {
    // A link when the kernel has cgroup links (probed once: 5.7) or ordering asks for one.
    if (method === "link" || (method === "auto" && (order.flags !== 0 || probeBpfLinks().status !== "unsupported"))) {
      const extra = order.flags || order.expectedRevision ? { kind: "mprog" as const, relative: order.relative, expectedRevision: order.expectedRevision } : { kind: "none" as const };
      const fd = linkCreate({ progFd, target: cg.value, attachType, flags: order.flags, extra }, `${label}: attach`);
      return new BpfLink(fd, "cgroup", label);
    }
    let flags: number = ATTACH_FLAGS[flagName as keyof typeof ATTACH_FLAGS];
    let replaceFd: number | undefined;
    if (options.replace !== undefined) {
      if (flagName !== "multi") throw new TypeError('attachCgroup: replace needs flags "multi"');
      flags |= BPF_F.REPLACE;
      replaceFd = programFd(options.replace, "attachCgroup: replace");
    }
    return progAttachLink({
      label,
      progFd,
      // A cgroup fd of the Link's own for the detach: the caller's may be closed by then.
      target: cg.keep(),
      attachType,
      attach: { flags, replaceFd },
      goneOnDetach: ["ENOENT", "EBADF"],
      info: (query) => {
        const q = query();
        return { type: "prog_attach", attachType: atName, programIds: q.progIds, attachFlags: q.attachFlags };
      },
    });
  } finally {
    cg.release();
  }
}

/** What a cgroup has on one hook. */
export interface CgroupQueryResult {
  /** The cgroup's attach flags for the hook (BPF_F_ALLOW_MULTI/OVERRIDE) — 0 for links or nothing. */
  attachFlags: number;
  /** Program ids in run order. */
  programIds: number[];
  /** Link ids parallel to programIds where the kernel reports them (zeros on 6.18 for cgroups). */
  linkIds: number[];
  revision: bigint;
}

/**
 * The programs on a cgroup hook (BPF_PROG_QUERY); `effective` includes those inherited from
 * ancestors. Min kernel 4.15. Throws BpfError.
 */
export function queryCgroup(cgroup: CgroupRef, attachType: CgroupAttachType | number, options: { effective?: boolean } = {}): CgroupQueryResult {
  checkOptions("queryCgroup", options, ["effective"]);
  const at = attachTypeNumber(attachType);
  const cg = openCgroup(cgroup, "queryCgroup");
  try {
    const q = progQuery(cg.value, at, options.effective ? BPF_F.QUERY_EFFECTIVE : 0, `${cg.name}: query ${attachTypeName(at) ?? at}`);
    return { attachFlags: q.attachFlags, programIds: q.progIds, linkIds: q.linkIds, revision: q.revision };
  } finally {
    cg.release();
  }
}

/**
 * Detach the program with id `programId` from a cgroup hook when it was attached with
 * BPF_PROG_ATTACH (a link-attached one is detached through its link). Min kernel 4.10. Throws
 * BpfError (ENOENT when it is not attached there).
 */
export function detachCgroup(cgroup: CgroupRef, attachType: CgroupAttachType | number, programId: number): void {
  const at = attachTypeNumber(attachType);
  const cg = openCgroup(cgroup, "detachCgroup");
  try {
    const prog = getFdById("prog", programId);
    try {
      progDetach({ target: cg.value, progFd: prog.value, attachType: at, flags: 0 }, `${cg.name}: detach program ${programId} from ${attachTypeName(at) ?? at}`);
    } finally {
      prog.close();
    }
  } finally {
    cg.release();
  }
}
