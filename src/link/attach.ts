/**
 * The `attach` namespace: one function per kind, each taking the program and its `XxxOptions`
 * and returning a `Link` (`attach.xdp(prog, { interface: "eth0" })`). The same functions are
 * exported by name (`attachXdp`), for tree-shaking and for readers who grep.
 */
import { attachBySection } from "./auto.js";
import { attachCgroup } from "./cgroup.js";
import { attachFlowDissector, attachSkLookup } from "./netns.js";
import { attachIter } from "./iter.js";
import { attachKprobe } from "./kprobe.js";
import { attachKprobeMulti } from "./kprobe-multi.js";
import { attachLircMode2 } from "./lirc.js";
import { attachNetfilter } from "./netfilter.js";
import { attachNetkit } from "./netkit.js";
import { attachPerfEvent } from "./perf-event.js";
import { attachRawTracepoint, attachTpBtf } from "./raw-tracepoint.js";
import { attachSocketFilter } from "./socket-filter.js";
import { attachSockmap } from "./sockmap.js";
import { attachStructOps } from "./struct-ops.js";
import { attachTc } from "./tc.js";
import { attachTcx } from "./tcx.js";
import { attachTracepoint } from "./tracepoint.js";
import { attachFreplace, attachLsm, attachTracing } from "./tracing.js";
import { attachUprobe } from "./uprobe.js";
import { attachUprobeMulti } from "./uprobe-multi.js";
import { attachUsdt } from "./usdt.js";
import { attachXdp } from "./xdp.js";

/** Every attach function by kind. */
export const attach = {
  xdp: attachXdp,
  tcx: attachTcx,
  tc: attachTc,
  netkit: attachNetkit,
  netfilter: attachNetfilter,
  cgroup: attachCgroup,
  socketFilter: attachSocketFilter,
  skLookup: attachSkLookup,
  flowDissector: attachFlowDissector,
  sockmap: attachSockmap,
  tracepoint: attachTracepoint,
  rawTracepoint: attachRawTracepoint,
  tpBtf: attachTpBtf,
  tracing: attachTracing,
  lsm: attachLsm,
  freplace: attachFreplace,
  iter: attachIter,
  perfEvent: attachPerfEvent,
  kprobe: attachKprobe,
  kprobeMulti: attachKprobeMulti,
  uprobe: attachUprobe,
  uprobeMulti: attachUprobeMulti,
  usdt: attachUsdt,
  structOps: attachStructOps,
  lircMode2: attachLircMode2,
  /** Where the program's ELF section name says (see attachBySection). */
  bySection: attachBySection,
} as const;
