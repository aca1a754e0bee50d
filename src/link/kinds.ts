/**
 * The registry of link kinds: one row per attach kind, its attach function. The `attach`
 * namespace (attach.ts) and attachBySection (auto.ts) are built from it, and
 * test/link/kinds.test.ts checks that the package exports each function by its own name
 * (`attachXdp`) and that the program-type table in link.ts has the same kinds. Adding a kind
 * is one file beside this one, one row here, one row in ATTACH_KIND_PROGRAM_TYPES
 * (CONTRIBUTING.md, "Adding a link kind").
 */
import { attachCgroup } from "./cgroup.js";
import { attachIter } from "./iter.js";
import { attachKprobe } from "./kprobe.js";
import { attachKprobeMulti } from "./kprobe-multi.js";
import { attachLircMode2 } from "./lirc.js";
import type { AttachKind } from "./link.js";
import { attachNetfilter } from "./netfilter.js";
import { attachNetkit } from "./netkit.js";
import { attachFlowDissector, attachSkLookup } from "./netns.js";
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

/**
 * Every attach kind and its function, in the order the `attach` namespace lists them. The
 * keys are the kinds ATTACH_KIND_PROGRAM_TYPES checks plus `structOps` (which takes a map, not
 * a program): the `satisfies` makes a kind missing here, or one the table lacks, a
 * compile error.
 */
export const LINK_KINDS = {
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
} as const satisfies Record<AttachKind | "structOps", (...args: never[]) => unknown>;

/** An attach kind: a key of LINK_KINDS (and of the `attach` namespace, besides `bySection`). */
export type LinkKind = keyof typeof LINK_KINDS;

