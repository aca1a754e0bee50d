/**
 * sk_msg and sk_skb programs on a sockmap or sockhash: by bpf_link (BPF_LINK_CREATE with the
 * map as target, Linux 6.10) or BPF_PROG_ATTACH (4.14; sk_msg 4.17). The program then runs for
 * every socket in the map (sk_msg: on sendmsg; sk_skb: on receive).
 */
import { BpfError } from "../errors.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate } from "../sys/link-attr.js";
import { expectProgramType, BpfLink, dupFd, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { progAttachLink } from "./prog-attach.js";

/** The attach types of a sockmap/sockhash. */
export type SockmapAttachType = "sk_msg_verdict" | "sk_skb_stream_parser" | "sk_skb_stream_verdict" | "sk_skb_verdict";

/** Options of `attachSockmap`. */
export interface SockmapOptions {
  /** The sockmap or sockhash (a BpfMap or its fd). */
  map: { readonly fd: number } | number;
  /** Which hook: `"sk_msg_verdict"` for sk_msg programs; the sk_skb ones for sk_skb programs. */
  attachType: SockmapAttachType;
  /** `"auto"` (default): a link on 6.10+, else BPF_PROG_ATTACH; or force one. */
  method?: "auto" | "link" | "attach";
}

const TYPES: readonly SockmapAttachType[] = ["sk_msg_verdict", "sk_skb_stream_parser", "sk_skb_stream_verdict", "sk_skb_verdict"];

/**
 * Attach an sk_msg or sk_skb program to a sockmap/sockhash. The Link does not own the map.
 * Min kernel 4.14 (links 6.10). Throws TypeError, BpfError (EBUSY: a program is attached to
 * that hook of the map already; EINVAL: wrong program type).
 */
export function attachSockmap(program: AttachProgram<"sk_msg" | "sk_skb">, options: SockmapOptions): Link {
  checkOptions("attachSockmap", options, ["map", "attachType", "method"]);
  if (!TYPES.includes(options.attachType)) throw new TypeError(`attachSockmap: attachType must be one of ${TYPES.join(", ")}`);
  const mapFd = typeof options.map === "number" ? options.map : options.map?.fd;
  if (typeof mapFd !== "number" || !Number.isInteger(mapFd) || mapFd < 0) throw new TypeError("attachSockmap: map must be a sockmap/sockhash or its fd");
  const method = options.method ?? "auto";
  if (!["auto", "link", "attach"].includes(method)) throw new TypeError('attachSockmap: method must be "auto", "link" or "attach"');
  expectProgramType(program, "sockmap", "attachSockmap");
  const progFd = programFd(program, "attachSockmap: program");
  const attachType = ATTACH_TYPES[options.attachType];
  const label = `${options.attachType} ${programLabel(program)} on map fd ${mapFd}`;
  if (method !== "attach") {
    try {
      const fd = linkCreate({ progFd, target: mapFd, attachType, flags: 0, extra: { kind: "none" } }, `${label}: attach`);
      return new BpfLink(fd, "sockmap", label);
    } catch (e) {
      // Before 6.10 there are no sockmap links (EINVAL).
      if (method === "link" || !(e instanceof BpfError) || e.code !== "EINVAL") throw e;
    }
  }
  return progAttachLink({
    label,
    progFd,
    target: dupFd(mapFd, label),
    attachType,
    goneOnDetach: ["ENOENT", "EBADF"],
    info: (query) => ({ type: "prog_attach", attachType: options.attachType, programIds: query().progIds }),
  });
}
