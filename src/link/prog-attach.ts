/**
 * Links for programs attached with BPF_PROG_ATTACH, the path that predates bpf_link: the only
 * one for lirc devices, and the fallback for sockmaps, flow dissectors, tcx and cgroups. The
 * kernel keeps no object for such an attachment, so the Link holds what detaching needs: its
 * own reference to the program, and the target's fd when the target is an fd.
 */
import { isTsbpfError } from "../errors.js";
import type { Fd } from "../sys/fd.js";
import { progAttach, progDetach, progQuery, type ProgAttachAttr, type ProgQueryResult } from "../sys/link-attr.js";
import { CallbackLink, dupFd, type Link, type LinkInfo } from "./link.js";

/** What `progAttachLink` attaches, and how its Link detaches and describes itself. */
export interface ProgAttachLinkOptions {
  /** Names the attachment in errors (`cgroup_inet_ingress program "count" on /sys/fs/cgroup/x`). */
  label: string;
  progFd: number;
  /**
   * The target: an Fd that the Link owns from now on (closed with it, or at once when attaching
   * fails), or a number it does not own (an ifindex; 0 for the caller's network namespace).
   */
  target: Fd | number;
  attachType: number;
  /** BPF_PROG_ATTACH fields beyond target, program and type. Default flags 0. */
  attach?: Partial<Pick<ProgAttachAttr, "flags" | "replaceFd" | "relative" | "expectedRevision">>;
  /** errno names that mean the program is gone already when the Link closes: not an error. */
  goneOnDetach: readonly string[];
  /** Runs each syscall, e.g. inside the target's network namespace. */
  within?: <T>(fn: () => T) => T;
  /** The Link's info, given a way to query the target (BPF_PROG_QUERY). */
  info: (query: () => ProgQueryResult) => LinkInfo;
}

/** Attach with BPF_PROG_ATTACH and return a Link whose close() detaches with BPF_PROG_DETACH. */
export function progAttachLink(o: ProgAttachLinkOptions): Link {
  const within = o.within ?? (<T>(fn: () => T): T => fn());
  const targetFd = typeof o.target === "number" ? undefined : o.target;
  const target = (): number => (targetFd ? targetFd.value : (o.target as number));
  let prog: Fd;
  try {
    prog = dupFd(o.progFd, o.label);
  } catch (e) {
    targetFd?.close();
    throw e;
  }
  try {
    within(() =>
      progAttach({ target: target(), progFd: o.progFd, attachType: o.attachType, flags: 0, ...o.attach }, `${o.label}: attach`),
    );
  } catch (e) {
    prog.close();
    targetFd?.close();
    throw e;
  }
  return new CallbackLink(
    "prog_attach",
    o.label,
    () => {
      try {
        within(() => progDetach({ target: target(), progFd: prog.value, attachType: o.attachType, flags: 0 }, `${o.label}: detach`));
      } catch (e) {
        if (!(isTsbpfError(e) && o.goneOnDetach.includes((e as { code?: string }).code ?? ""))) throw e;
      }
    },
    () => o.info(() => within(() => progQuery(target(), o.attachType, 0, `${o.label}: query`))),
    targetFd ? [targetFd, prog] : [prog],
  );
}
