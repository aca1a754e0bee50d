/**
 * Network-namespace programs: sk_lookup (Linux 5.9) and flow_dissector (links 5.8,
 * BPF_PROG_ATTACH 4.20), attached to a whole network namespace by bpf_link.
 */
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate, progQuery } from "../sys/link-attr.js";
import { openPath } from "../sys/fd.js";
import type { NetnsRef } from "../sys/netns.js";
import { BpfLink, expectProgramType, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { progAttachLink } from "./prog-attach.js";
import { netnsPath } from "../sys/netns-path.js";

/** Options of `attachSkLookup` and `attachFlowDissector`. */
export interface NetnsOptions {
  /** The namespace: a name under /var/run/netns or a path. Default: the caller's (`/proc/self/ns/net`). */
  netns?: NetnsRef;
  /** flow_dissector only: `"link"` (default) or `"attach"` (BPF_PROG_ATTACH, for kernels before 5.8). */
  method?: "link" | "attach";
}

function nsPath(ns: NetnsRef | undefined): string {
  if (ns === undefined) return "/proc/thread-self/ns/net";
  return netnsPath(ns);
}

function attachNetns(kind: "sk_lookup" | "flow_dissector", program: AttachProgram, options: NetnsOptions): Link {
  checkOptions(`attach ${kind}`, options, kind === "flow_dissector" ? ["netns", "method"] : ["netns"]);
  expectProgramType(program, kind === "sk_lookup" ? "skLookup" : "flowDissector", kind === "sk_lookup" ? "attachSkLookup" : "attachFlowDissector");
  const progFd = programFd(program, `${kind}: program`);
  const attachType = ATTACH_TYPES[kind];
  const where = options.netns ?? "current network namespace";
  const label = `${kind} ${programLabel(program)} in ${where}`;
  using ns = openPath(nsPath(options.netns));
  if ((options.method ?? "link") === "link") {
    const fd = linkCreate({ progFd, target: ns.value, attachType, flags: 0, extra: { kind: "none" } }, `${label}: attach`, (e) =>
      e === 7 || e === 17 ? "the namespace already has as many programs of this kind as it takes (one flow dissector; 64 sk_lookup)" : undefined,
    );
    return new BpfLink(fd, "netns", label);
  }
  if (options.method !== "attach") throw new TypeError('attachFlowDissector: method must be "link" or "attach"');
  // BPF_PROG_ATTACH of a flow dissector applies to the caller's namespace: target 0.
  return progAttachLink({
    label,
    progFd,
    target: 0,
    attachType,
    goneOnDetach: ["ENOENT"],
    info: () => ({ type: "prog_attach", attachType: kind }),
  });
}

/**
 * Attach an sk_lookup program to a network namespace: it runs when a packet looks for a
 * listening/receiving socket and may pick one (bpf_sk_assign). Several can be attached.
 * Min kernel 5.9. Throws BpfError.
 */
export function attachSkLookup(program: AttachProgram<"sk_lookup">, options: NetnsOptions = {}): Link {
  return attachNetns("sk_lookup", program, options);
}

/**
 * Attach a flow dissector program to a network namespace (one per namespace). Min kernel 5.8
 * for links, 4.20 with method "attach". Throws BpfError (E2BIG when one is attached already).
 */
export function attachFlowDissector(program: AttachProgram<"flow_dissector">, options: NetnsOptions = {}): Link {
  return attachNetns("flow_dissector", program, options);
}

/** Program ids attached to a namespace for `kind` (BPF_PROG_QUERY on the netns fd). */
export function queryNetns(kind: "sk_lookup" | "flow_dissector", netns?: NetnsRef): number[] {
  using ns = openPath(nsPath(netns));
  return progQuery(ns.value, ATTACH_TYPES[kind], 0, `${kind} in ${netns ?? "current network namespace"}: query`).progIds;
}
