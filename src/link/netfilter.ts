/**
 * Netfilter: attach a netfilter program to a hook of the IPv4 or IPv6 stack as a bpf_link
 * (BPF_LINK_CREATE of BPF_NETFILTER, Linux 6.4). The hook lives in the network namespace of
 * the thread that attaches (give `netns` to pick another).
 */
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate } from "../sys/link-attr.js";
import type { NetnsRef } from "../sys/netns.js";
import { expectProgramType, BpfLink, listLinks, programFd, programLabel, type AttachProgram, type Link, type LinkInfo } from "./link.js";
import { checkOptions } from "../errors.js";
import { inNetns } from "./target.js";

/** `NFPROTO_*` families a netfilter program can hook. */
export const NF_FAMILIES = { ipv4: 2, ipv6: 10 } as const;
/** `NF_INET_*` hooks. */
export const NF_HOOKS = { prerouting: 0, local_in: 1, forward: 2, local_out: 3, post_routing: 4 } as const;
/** `BPF_F_NETFILTER_IP_DEFRAG`: see packets after IP defragmentation (Linux 6.6). */
export const BPF_F_NETFILTER_IP_DEFRAG = 1;

/** Options of `attachNetfilter`. */
export interface NetfilterOptions {
  /** `"ipv4"` or `"ipv6"`. */
  family: keyof typeof NF_FAMILIES;
  /** The hook: `"prerouting"`, `"local_in"`, `"forward"`, `"local_out"` or `"post_routing"`. */
  hook: keyof typeof NF_HOOKS;
  /** Priority among the hook's functions (lower runs first); not INT_MIN or INT_MAX. */
  priority: number;
  /** See packets after defragmentation (Linux 6.6). Default false. */
  defrag?: boolean;
  /** Network namespace of the hook. Default: the caller's. */
  netns?: NetnsRef;
}

const KEYS = ["family", "hook", "priority", "defrag", "netns"] as const;

/**
 * Attach a netfilter program to a hook. Returns a bpf_link Link. The program's verdict is
 * NF_DROP (0) or NF_ACCEPT (1). Min kernel 6.4 (defrag 6.6). Throws TypeError for bad options,
 * BpfError (EINVAL for a reserved priority or a hook the family lacks; EBUSY when another
 * program holds the same priority with defrag).
 */
export function attachNetfilter(program: AttachProgram<"netfilter">, options: NetfilterOptions): Link {
  checkOptions("attachNetfilter", options, KEYS);
  if (!Object.hasOwn(NF_FAMILIES, options.family)) throw new TypeError('attachNetfilter: family must be "ipv4" or "ipv6"');
  if (!Object.hasOwn(NF_HOOKS, options.hook)) throw new TypeError(`attachNetfilter: hook must be one of ${Object.keys(NF_HOOKS).join(", ")}`);
  const p = options.priority;
  if (!Number.isInteger(p) || p <= -0x80000000 || p >= 0x7fffffff) {
    throw new TypeError("attachNetfilter: priority must be an integer strictly between INT_MIN and INT_MAX");
  }
  expectProgramType(program, "netfilter", "attachNetfilter");
  const progFd = programFd(program, "attachNetfilter: program");
  const label = `netfilter ${options.family} ${options.hook} prio ${p} ${programLabel(program)}`;
  return inNetns(options.netns, () => {
    const fd = linkCreate(
      {
        progFd,
        target: 0,
        attachType: ATTACH_TYPES.netfilter,
        flags: 0,
        extra: { kind: "netfilter", pf: NF_FAMILIES[options.family], hooknum: NF_HOOKS[options.hook], priority: p, flags: options.defrag ? BPF_F_NETFILTER_IP_DEFRAG : 0 },
      },
      `${label}: attach`,
    );
    return new BpfLink(fd, "netfilter", label);
  });
}

/** Every netfilter link in the system (all namespaces), with family, hook and priority. */
export function queryNetfilter(): LinkInfo[] {
  return listLinks().filter((l) => l.type === "netfilter");
}

