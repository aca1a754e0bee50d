/**
 * Section names → program type, expected attach type and flags: the convention libbpf follows
 * (its `section_defs` of the 6.18 era, kept here as one data table written from the documented
 * facts), plus the older names cilium/ebpf still accepts (`socket/…`, `xdp/…`, `classifier/…`).
 * Pure data and string parsing.
 *
 * Matching, as libbpf does it: a pattern ending in `+` matches the name exactly or followed by
 * `/target`; a pattern ending in `/` matches as a prefix; any other pattern matches exactly.
 * The first matching row wins (order matters: `xdp.frags/devmap` before `xdp.frags`). A leading
 * `?` marks a program that is not loaded by default. When no row matches, the legacy rule is
 * tried: an exact-match row followed by `/anything` (`socket/foo`, `xdp/foo`, `classifier/foo`,
 * `cgroup/connect4/foo`), which cilium/ebpf still accepts and libbpf 1.x refuses.
 *
 * The rows are libbpf 1.6's (the libbpf of Linux 6.18: 103 rows, in libbpf's order). Rows libbpf
 * added later are left out because they need attach types or kernel support newer than 6.18:
 * `fsession+`/`fsession.s+` (BPF_TRACE_FSESSION), `fentry.multi+`, `fexit.multi+`,
 * `fsession.multi+` and their `.s` forms (the tracing-multi attach types), and the sleepable
 * tracepoints `tracepoint.s+`, `tp.s+`, `raw_tracepoint.s+`, `raw_tp.s+`, `tp_btf.s+`.
 */
import type { AttachTypeName, ProgramTypeName } from "./program-type.js";

/** One row of the convention. */
export interface SectionDef {
  /** libbpf's pattern (`"kprobe+"`, `"cgroup/connect4"`, `"xdp.frags"`). */
  readonly pattern: string;
  readonly type: ProgramTypeName;
  /** Expected attach type passed at load, when the convention gives one. */
  readonly attachType?: AttachTypeName;
  /** `BPF_F_SLEEPABLE` at load. */
  readonly sleepable?: boolean;
  /** `BPF_F_XDP_HAS_FRAGS` at load. */
  readonly xdpFrags?: boolean;
  /** The target is a BTF name (fentry, lsm, tp_btf, iter…) resolved at load. */
  readonly attachBtf?: boolean;
  /** A return probe (kretprobe, uretprobe, kretsyscall…). */
  readonly retprobe?: boolean;
  /**
   * USDT probe (libbpf's `SEC_USDT`): libbpf loads it with expected attach type
   * `trace_uprobe_multi` when the kernel has uprobe-multi links (6.6+), else with none.
   */
  readonly usdt?: boolean;
  /**
   * libbpf's `SEC_ATTACHABLE`: the row is one `libbpf_attach_type_by_name()` answers for (the
   * old `BPF_PROG_ATTACH` family). Informational; loading does not depend on it.
   */
  readonly attachable?: boolean;
  /**
   * libbpf's `SEC_EXP_ATTACH_OPT`: the expected attach type may be dropped on kernels too old
   * to accept one at load (before 4.17). Never the case on 6.18.
   */
  readonly attachTypeOptional?: boolean;
  /** How the part after the first `/` is read as an attach target. */
  readonly target?: TargetKind;
}

/** How a section's attach target is written. */
export type TargetKind = "kprobe" | "uprobe" | "tracepoint" | "name" | "usdt";

type Row = [pattern: string, type: ProgramTypeName, attach: AttachTypeName | undefined, flags?: string, target?: TargetKind];

// Flags: s = sleepable, f = xdp frags, b = attach by BTF name, r = return probe, u = usdt,
// a = attachable (SEC_ATTACHABLE), o = expected attach type optional (SEC_EXP_ATTACH_OPT;
// libbpf's SEC_ATTACHABLE_OPT is "ao").
const ROWS: readonly Row[] = [
  ["socket", "socket_filter", undefined],
  ["sk_reuseport/migrate", "sk_reuseport", "sk_reuseport_select_or_migrate", "a"],
  ["sk_reuseport", "sk_reuseport", "sk_reuseport_select", "a"],
  ["kprobe+", "kprobe", undefined, "", "kprobe"],
  ["uprobe+", "kprobe", undefined, "", "uprobe"],
  ["uprobe.s+", "kprobe", undefined, "s", "uprobe"],
  ["kretprobe+", "kprobe", undefined, "r", "kprobe"],
  ["uretprobe+", "kprobe", undefined, "r", "uprobe"],
  ["uretprobe.s+", "kprobe", undefined, "sr", "uprobe"],
  ["kprobe.multi+", "kprobe", "trace_kprobe_multi", "", "name"],
  ["kretprobe.multi+", "kprobe", "trace_kprobe_multi", "r", "name"],
  ["kprobe.session+", "kprobe", "trace_kprobe_session", "", "name"],
  ["uprobe.multi+", "kprobe", "trace_uprobe_multi", "", "uprobe"],
  ["uretprobe.multi+", "kprobe", "trace_uprobe_multi", "r", "uprobe"],
  ["uprobe.session+", "kprobe", "trace_uprobe_session", "", "uprobe"],
  ["uprobe.multi.s+", "kprobe", "trace_uprobe_multi", "s", "uprobe"],
  ["uretprobe.multi.s+", "kprobe", "trace_uprobe_multi", "sr", "uprobe"],
  ["uprobe.session.s+", "kprobe", "trace_uprobe_session", "s", "uprobe"],
  ["ksyscall+", "kprobe", undefined, "", "name"],
  ["kretsyscall+", "kprobe", undefined, "r", "name"],
  ["usdt+", "kprobe", undefined, "u", "usdt"],
  ["usdt.s+", "kprobe", undefined, "us", "usdt"],
  ["tc/ingress", "sched_cls", "tcx_ingress"],
  ["tc/egress", "sched_cls", "tcx_egress"],
  ["tcx/ingress", "sched_cls", "tcx_ingress"],
  ["tcx/egress", "sched_cls", "tcx_egress"],
  ["tc", "sched_cls", undefined],
  ["classifier", "sched_cls", undefined],
  ["action", "sched_act", undefined],
  ["netkit/primary", "sched_cls", "netkit_primary"],
  ["netkit/peer", "sched_cls", "netkit_peer"],
  ["tracepoint+", "tracepoint", undefined, "", "tracepoint"],
  ["tp+", "tracepoint", undefined, "", "tracepoint"],
  ["raw_tracepoint+", "raw_tracepoint", undefined, "", "name"],
  ["raw_tp+", "raw_tracepoint", undefined, "", "name"],
  ["raw_tracepoint.w+", "raw_tracepoint_writable", undefined, "", "name"],
  ["raw_tp.w+", "raw_tracepoint_writable", undefined, "", "name"],
  ["tp_btf+", "tracing", "trace_raw_tp", "b", "name"],
  ["fentry+", "tracing", "trace_fentry", "b", "name"],
  ["fmod_ret+", "tracing", "modify_return", "b", "name"],
  ["fexit+", "tracing", "trace_fexit", "b", "name"],
  ["fentry.s+", "tracing", "trace_fentry", "bs", "name"],
  ["fmod_ret.s+", "tracing", "modify_return", "bs", "name"],
  ["fexit.s+", "tracing", "trace_fexit", "bs", "name"],
  ["freplace+", "ext", undefined, "b", "name"],
  ["lsm+", "lsm", "lsm_mac", "b", "name"],
  ["lsm.s+", "lsm", "lsm_mac", "bs", "name"],
  ["lsm_cgroup+", "lsm", "lsm_cgroup", "b", "name"],
  ["iter+", "tracing", "trace_iter", "b", "name"],
  ["iter.s+", "tracing", "trace_iter", "bs", "name"],
  ["syscall", "syscall", undefined, "s"],
  ["xdp.frags/devmap", "xdp", "xdp_devmap", "f"],
  ["xdp/devmap", "xdp", "xdp_devmap", "a"],
  ["xdp.frags/cpumap", "xdp", "xdp_cpumap", "f"],
  ["xdp/cpumap", "xdp", "xdp_cpumap", "a"],
  ["xdp.frags", "xdp", "xdp", "f"],
  ["xdp", "xdp", "xdp", "ao"],
  ["perf_event", "perf_event", undefined],
  ["lwt_in", "lwt_in", undefined],
  ["lwt_out", "lwt_out", undefined],
  ["lwt_xmit", "lwt_xmit", undefined],
  ["lwt_seg6local", "lwt_seg6local", undefined],
  ["sockops", "sock_ops", "cgroup_sock_ops", "ao"],
  ["sk_skb/stream_parser", "sk_skb", "sk_skb_stream_parser", "ao"],
  ["sk_skb/stream_verdict", "sk_skb", "sk_skb_stream_verdict", "ao"],
  ["sk_skb/verdict", "sk_skb", "sk_skb_verdict", "ao"],
  ["sk_skb", "sk_skb", undefined],
  ["sk_msg", "sk_msg", "sk_msg_verdict", "ao"],
  ["lirc_mode2", "lirc_mode2", "lirc_mode2", "ao"],
  ["flow_dissector", "flow_dissector", "flow_dissector", "ao"],
  ["cgroup_skb/ingress", "cgroup_skb", "cgroup_inet_ingress", "ao"],
  ["cgroup_skb/egress", "cgroup_skb", "cgroup_inet_egress", "ao"],
  ["cgroup/skb", "cgroup_skb", undefined],
  ["cgroup/sock_create", "cgroup_sock", "cgroup_inet_sock_create", "a"],
  ["cgroup/sock_release", "cgroup_sock", "cgroup_inet_sock_release", "a"],
  ["cgroup/sock", "cgroup_sock", "cgroup_inet_sock_create", "ao"],
  ["cgroup/post_bind4", "cgroup_sock", "cgroup_inet4_post_bind", "a"],
  ["cgroup/post_bind6", "cgroup_sock", "cgroup_inet6_post_bind", "a"],
  ["cgroup/bind4", "cgroup_sock_addr", "cgroup_inet4_bind", "a"],
  ["cgroup/bind6", "cgroup_sock_addr", "cgroup_inet6_bind", "a"],
  ["cgroup/connect4", "cgroup_sock_addr", "cgroup_inet4_connect", "a"],
  ["cgroup/connect6", "cgroup_sock_addr", "cgroup_inet6_connect", "a"],
  ["cgroup/connect_unix", "cgroup_sock_addr", "cgroup_unix_connect", "a"],
  ["cgroup/sendmsg4", "cgroup_sock_addr", "cgroup_udp4_sendmsg", "a"],
  ["cgroup/sendmsg6", "cgroup_sock_addr", "cgroup_udp6_sendmsg", "a"],
  ["cgroup/sendmsg_unix", "cgroup_sock_addr", "cgroup_unix_sendmsg", "a"],
  ["cgroup/recvmsg4", "cgroup_sock_addr", "cgroup_udp4_recvmsg", "a"],
  ["cgroup/recvmsg6", "cgroup_sock_addr", "cgroup_udp6_recvmsg", "a"],
  ["cgroup/recvmsg_unix", "cgroup_sock_addr", "cgroup_unix_recvmsg", "a"],
  ["cgroup/getpeername4", "cgroup_sock_addr", "cgroup_inet4_getpeername", "a"],
  ["cgroup/getpeername6", "cgroup_sock_addr", "cgroup_inet6_getpeername", "a"],
  ["cgroup/getpeername_unix", "cgroup_sock_addr", "cgroup_unix_getpeername", "a"],
  ["cgroup/getsockname4", "cgroup_sock_addr", "cgroup_inet4_getsockname", "a"],
  ["cgroup/getsockname6", "cgroup_sock_addr", "cgroup_inet6_getsockname", "a"],
  ["cgroup/getsockname_unix", "cgroup_sock_addr", "cgroup_unix_getsockname", "a"],
  ["cgroup/sysctl", "cgroup_sysctl", "cgroup_sysctl", "a"],
  ["cgroup/getsockopt", "cgroup_sockopt", "cgroup_getsockopt", "a"],
  ["cgroup/setsockopt", "cgroup_sockopt", "cgroup_setsockopt", "a"],
  ["cgroup/dev", "cgroup_device", "cgroup_device", "ao"],
  ["struct_ops+", "struct_ops", undefined, "", "name"],
  ["struct_ops.s+", "struct_ops", undefined, "s", "name"],
  ["sk_lookup", "sk_lookup", "sk_lookup", "a"],
  ["netfilter", "netfilter", "netfilter"],
];

function toDef([pattern, type, attachType, flags = "", target]: Row): SectionDef {
  const def: {
    -readonly [K in keyof SectionDef]: SectionDef[K];
  } = { pattern, type };
  if (attachType) def.attachType = attachType;
  if (flags.includes("s")) def.sleepable = true;
  if (flags.includes("f")) def.xdpFrags = true;
  if (flags.includes("b")) def.attachBtf = true;
  if (flags.includes("r")) def.retprobe = true;
  if (flags.includes("u")) def.usdt = true;
  if (flags.includes("a")) def.attachable = true;
  if (flags.includes("o")) def.attachTypeOptional = true;
  if (target) def.target = target;
  return Object.freeze(def);
}

/** libbpf's section-name convention, in matching order. */
export const SECTION_DEFS: readonly SectionDef[] = Object.freeze(ROWS.map(toDef));

/**
 * The rows the legacy rule may use: every exact-match row, in table order, so that the more
 * specific spelling wins (`xdp/devmap/foo` is a devmap program, `tc/ingress/foo` a tcx one, as
 * cilium/ebpf reads them). Only a `/` may follow: `xdpfoo` or `socket1` stay unknown, as libbpf
 * 1.x has it.
 */
const LEGACY_DEFS: readonly SectionDef[] = SECTION_DEFS.filter((d) => !d.pattern.endsWith("+") && !d.pattern.endsWith("/"));

/** An attach target parsed from a section name. */
export type SectionTarget =
  /** `kprobe/do_sys_open+16`, `kretprobe/func` */
  | { readonly kind: "kprobe"; readonly function: string; readonly offset: number }
  /** `uprobe/path:function+off`, `uprobe.multi/path:pattern` */
  | { readonly kind: "uprobe"; readonly path: string; readonly function?: string; readonly offset: number }
  /** `tracepoint/syscalls/sys_enter_openat` */
  | { readonly kind: "tracepoint"; readonly category: string; readonly name: string }
  /** `usdt/path:provider:name` */
  | { readonly kind: "usdt"; readonly path: string; readonly provider: string; readonly name: string }
  /** Any other target: a function, a tracepoint, a struct_ops member, an iterator… */
  | { readonly kind: "name"; readonly name: string };

/** What a section name says about the program in it. */
export interface SectionInfo {
  /** The section name without its `?` prefix. */
  readonly name: string;
  readonly type: ProgramTypeName;
  readonly attachType?: AttachTypeName;
  readonly sleepable: boolean;
  readonly xdpFrags: boolean;
  readonly attachBtf: boolean;
  readonly retprobe: boolean;
  readonly usdt: boolean;
  /** libbpf's `SEC_ATTACHABLE` (see SectionDef.attachable). */
  readonly attachable: boolean;
  /** libbpf's `SEC_EXP_ATTACH_OPT` (see SectionDef.attachTypeOptional). */
  readonly attachTypeOptional: boolean;
  /** False for a `?`-prefixed section: the program is not loaded unless asked for. */
  readonly autoload: boolean;
  /** The text after the pattern's `/`, when there is one (`"syscalls/sys_enter_openat"`). */
  readonly targetText?: string;
  /** The target, parsed according to the row's kind (undefined when the section has none or it is malformed). */
  readonly target?: SectionTarget;
  /** The row that matched. */
  readonly def: SectionDef;
  /** Matched only by the legacy (cilium/ebpf) prefix rule. */
  readonly legacy: boolean;
}

function matches(pattern: string, name: string): boolean {
  const last = pattern[pattern.length - 1];
  if (last === "/") return name.startsWith(pattern);
  if (last === "+") {
    const stem = pattern.slice(0, -1);
    if (!name.startsWith(stem)) return false;
    return name.length === stem.length || name[stem.length] === "/";
  }
  return name === pattern;
}

/**
 * What a section name means, by libbpf's convention (then the legacy prefixes). Returns
 * undefined for a name that is not a program section (`.text`, `.maps`, `license`…) or that
 * no convention knows.
 */
export function parseSectionName(section: string): SectionInfo | undefined {
  const autoload = !section.startsWith("?");
  const name = autoload ? section : section.slice(1);
  for (const def of SECTION_DEFS) {
    if (matches(def.pattern, name)) return info(def, name, autoload, false);
  }
  for (const def of LEGACY_DEFS) {
    if (name.startsWith(`${def.pattern}/`)) return info(def, name, autoload, true);
  }
  return undefined;
}

function info(def: SectionDef, name: string, autoload: boolean, legacy: boolean): SectionInfo {
  const stem = def.pattern.endsWith("+") ? def.pattern.slice(0, -1) : undefined;
  let targetText: string | undefined;
  if (stem !== undefined && name.length > stem.length + 1) targetText = name.slice(stem.length + 1);
  const target = targetText !== undefined && def.target ? parseTarget(def.target, targetText) : undefined;
  return {
    name,
    type: def.type,
    attachType: def.attachType,
    sleepable: def.sleepable === true,
    xdpFrags: def.xdpFrags === true,
    attachBtf: def.attachBtf === true,
    retprobe: def.retprobe === true,
    usdt: def.usdt === true,
    attachable: def.attachable === true,
    attachTypeOptional: def.attachTypeOptional === true,
    autoload,
    targetText,
    target,
    def,
    legacy,
  };
}

/** Parse the target text of a section by kind; undefined when it is malformed. */
export function parseTarget(kind: TargetKind, text: string): SectionTarget | undefined {
  switch (kind) {
    case "kprobe": {
      // function[+offset]
      const m = /^([^+\s]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(text);
      if (!m) return undefined;
      return { kind: "kprobe", function: m[1], offset: m[2] ? Number(m[2]) : 0 };
    }
    case "uprobe": {
      // path[:function[+offset]] ; the path may itself contain no ':'.
      const colon = text.lastIndexOf(":");
      if (colon < 0) return { kind: "uprobe", path: text, offset: 0 };
      const path = text.slice(0, colon);
      const rest = text.slice(colon + 1);
      if (!path) return undefined;
      const m = /^([^+]*)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(rest);
      if (!m) return undefined;
      // A bare number is an offset, not a function name.
      if (/^(0x[0-9a-fA-F]+|\d+)$/.test(m[1]) && !m[2]) return { kind: "uprobe", path, offset: Number(m[1]) };
      return { kind: "uprobe", path, function: m[1] || undefined, offset: m[2] ? Number(m[2]) : 0 };
    }
    case "tracepoint": {
      const slash = text.indexOf("/");
      if (slash <= 0 || slash === text.length - 1) return undefined;
      return { kind: "tracepoint", category: text.slice(0, slash), name: text.slice(slash + 1) };
    }
    case "usdt": {
      const parts = text.split(":");
      if (parts.length !== 3 || parts.some((p) => !p)) return undefined;
      return { kind: "usdt", path: parts[0], provider: parts[1], name: parts[2] };
    }
    case "name":
      return text ? { kind: "name", name: text } : undefined;
  }
}
