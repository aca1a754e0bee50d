/**
 * Attach by section name: libbpf's section convention (`tracepoint/syscalls/sys_enter_openat`,
 * `uprobe//usr/bin/app:main`, `raw_tp/sys_enter`, `xdp`, `cgroup/connect4` …, parsed by
 * `src/spec/section-names.ts`) says where a program goes. `planAttach` turns a section into
 * the attach function and options (pure); `attachBySection` runs it, taking what the section
 * cannot say (an interface, a cgroup, a map) from `extra`.
 */
import { TsbpfError } from "../errors.js";
import { parseSectionName } from "../spec/section-names.js";
import type { AttachTypeName } from "../spec/program-type.js";
import { CGROUP_ATTACH_TYPES, type CgroupAttachType } from "./cgroup.js";
import { LINK_KINDS, type LinkKind } from "./kinds.js";
import type { AttachProgram, Link } from "./link.js";
import type { SockmapAttachType } from "./sockmap.js";

/** What a section says: the attach kind (a key of `attach`) and the options it fixes. */
export interface AttachPlan {
  /** The attach function: `"tracepoint"`, `"uprobe"`, `"xdp"`, `"cgroup"` … (a key of the `attach` namespace). */
  kind: LinkKind;
  /** Options the section fixes. */
  options: Record<string, unknown>;
  /** Options the caller must add (`["interface"]` for xdp, `["cgroup"]` for cgroup programs …). */
  needs: string[];
}

const GLOB = /[*?]/;

/**
 * The attach plan of a section name (pure). Throws TsbpfError for a section that names no
 * attachable program (`.text`, `syscall`, `struct_ops/...`: registered through a map) or whose
 * target is malformed.
 */
export function planAttach(section: string): AttachPlan {
  const info = parseSectionName(section);
  if (!info) throw new TsbpfError(`section ${JSON.stringify(section)}: not a program section libbpf's convention knows`);
  const t = info.target;
  const stem = info.def.pattern.replace(/\+$/, "");
  const at = info.attachType as AttachTypeName | undefined;
  const plan = (kind: LinkKind, options: Record<string, unknown> = {}, needs: string[] = []): AttachPlan => ({ kind, options, needs });
  const bad = (): never => {
    throw new TsbpfError(`section ${JSON.stringify(section)}: the target ${JSON.stringify(info.targetText ?? "")} is missing or malformed`);
  };
  switch (info.type) {
    case "tracepoint":
      if (t?.kind !== "tracepoint") bad();
      return plan("tracepoint", { category: (t as { category: string }).category, name: (t as { name: string }).name });
    case "raw_tracepoint":
    case "raw_tracepoint_writable":
      if (t?.kind !== "name") bad();
      return plan("rawTracepoint", { name: (t as { name: string }).name });
    case "kprobe": {
      if (info.usdt) {
        if (t?.kind !== "usdt") return plan("usdt", {}, ["path", "provider", "name", "specsMap"]);
        return plan("usdt", { path: t.path, provider: t.provider, name: t.name }, ["specsMap"]);
      }
      if (at === "trace_kprobe_multi" || at === "trace_kprobe_session") {
        if (t?.kind !== "name") bad();
        const name = (t as { name: string }).name;
        if (GLOB.test(name)) throw new TsbpfError(`section ${JSON.stringify(section)}: kprobe_multi patterns are not expanded; give symbols in extra`);
        return plan("kprobeMulti", at === "trace_kprobe_session" ? { symbols: [name], session: true } : { symbols: [name], retprobe: info.retprobe });
      }
      if (at === "trace_uprobe_multi" || at === "trace_uprobe_session") {
        const mode = at === "trace_uprobe_session" ? { session: true } : { retprobe: info.retprobe };
        if (t?.kind !== "uprobe" || !t.function) return plan("uprobeMulti", mode, ["path", "symbols"]);
        if (GLOB.test(t.function)) throw new TsbpfError(`section ${JSON.stringify(section)}: uprobe_multi patterns are not expanded; give symbols in extra`);
        return plan("uprobeMulti", { path: t.path, symbols: [t.function], ...mode });
      }
      if (stem === "ksyscall" || stem === "kretsyscall") {
        if (t?.kind !== "name") bad();
        return plan("kprobe", { symbol: (t as { name: string }).name, syscall: true, retprobe: info.retprobe });
      }
      if (stem.startsWith("kprobe") || stem.startsWith("kretprobe")) {
        if (t?.kind !== "kprobe") return plan("kprobe", { retprobe: info.retprobe }, ["symbol"]);
        return plan("kprobe", { symbol: t.function, offset: t.offset, retprobe: info.retprobe });
      }
      // uprobe / uretprobe (possibly sleepable)
      if (t?.kind !== "uprobe") return plan("uprobe", { retprobe: info.retprobe }, ["path", "symbol"]);
      return plan("uprobe", { path: t.path, ...(t.function ? { symbol: t.function } : {}), offset: t.offset, retprobe: info.retprobe });
    }
    case "tracing":
      if (at === "trace_raw_tp") return plan("tpBtf");
      if (at === "trace_iter") return plan("iter");
      return plan("tracing");
    case "lsm":
      if (at === "lsm_cgroup") return plan("cgroup", { attachType: "lsm_cgroup" }, ["cgroup"]);
      return plan("lsm");
    case "ext":
      return plan("freplace");
    case "xdp":
      if (at === "xdp_devmap" || at === "xdp_cpumap") throw new TsbpfError(`section ${JSON.stringify(section)}: a ${at} program goes into a devmap/cpumap entry, not onto an interface`);
      return plan("xdp", {}, ["interface"]);
    case "sched_cls":
      if (at === "tcx_ingress" || at === "tcx_egress") return plan("tcx", { direction: at === "tcx_ingress" ? "ingress" : "egress" }, ["interface"]);
      if (at === "netkit_primary" || at === "netkit_peer") return plan("netkit", { side: at === "netkit_primary" ? "primary" : "peer" }, ["interface"]);
      return plan("tc", {}, ["interface", "direction"]);
    case "socket_filter":
      return plan("socketFilter", {}, ["socket"]);
    case "sk_reuseport":
      return plan("socketFilter", { kind: "reuseport" }, ["socket"]);
    case "sk_lookup":
      return plan("skLookup");
    case "flow_dissector":
      return plan("flowDissector");
    case "netfilter":
      return plan("netfilter", {}, ["family", "hook", "priority"]);
    case "perf_event":
      return plan("perfEvent", {}, ["event"]);
    case "lirc_mode2":
      return plan("lircMode2", {}, ["device"]);
    case "sk_msg":
    case "sk_skb":
      if (!at) return plan("sockmap", {}, ["map", "attachType"]);
      return plan("sockmap", { attachType: at as SockmapAttachType }, ["map"]);
    case "sock_ops":
    case "cgroup_skb":
    case "cgroup_sock":
    case "cgroup_sock_addr":
    case "cgroup_sysctl":
    case "cgroup_sockopt":
    case "cgroup_device":
      if (!at || !(CGROUP_ATTACH_TYPES as readonly string[]).includes(at)) return plan("cgroup", {}, ["cgroup", "attachType"]);
      return plan("cgroup", { attachType: at as CgroupAttachType }, ["cgroup"]);
    default:
      throw new TsbpfError(`section ${JSON.stringify(section)}: ${info.type} programs are not attached by a link (${info.type === "struct_ops" ? "use attachStructOps" : "they run another way"})`);
  }
}

/**
 * Attach a program where its section name says, e.g. `attachBySection(prog,
 * "tracepoint/syscalls/sys_enter_openat")` or `attachBySection(prog, "xdp", { interface:
 * "eth0" })`. `extra` adds (or overrides) options of the chosen attach function. Throws
 * TsbpfError when the section names no attach target or `extra` lacks what the kind needs;
 * otherwise whatever the chosen attach function throws.
 */
export function attachBySection(program: AttachProgram, section: string, extra: Record<string, unknown> = {}): Link {
  const p = planAttach(section);
  const missing = p.needs.filter((k) => extra[k] === undefined && p.options[k] === undefined);
  if (missing.length) {
    throw new TsbpfError(`section ${JSON.stringify(section)}: attaching a ${p.kind} program needs ${missing.join(", ")} (pass them in extra)`);
  }
  // Each attach function checks the options it is given itself (checkOptions); a kind with
  // nothing to fix gets `extra` alone (planAttach fixes no options for it).
  const run = LINK_KINDS[p.kind] as (program: AttachProgram, options: Record<string, unknown>) => Link;
  return run(program, { ...p.options, ...extra });
}
