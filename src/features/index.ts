/**
 * Feature probes: what the running kernel supports, asked the way bpftool and cilium/ebpf ask,
 * each answer cached per process and three-way (supported, unsupported, refused). One module
 * per family; this file gathers them and `probeAll()` runs every one.
 */
import { probeBpfLinks, probeLinkKind, probeTracingAttach, LINK_KIND_MIN_KERNEL, TRACING_ATTACH, type ProbedLinkKind, type ProbedTracingAttach } from "./attach.js";
import { BTF_FEATURE_NAMES, probeBtf, probeBtfKind } from "./btf.js";
import { probeBoundedLoops, probeIsaV2, probeIsaV3, probeIsaV4, probeLargeInsnLimit } from "./isa.js";
import { ALL_MAP_TYPES, MAP_FLAG_PROBES, probeMapFlag, probeMapType, type ProbedMapFlag } from "./map-types.js";
import {
  probeArena, probeBpfCookie, probeBpfLoop, probeJit, probeKfuncs, probeMemcgAccounting, probeRingBuffer, probeSleepable,
  probeHardwarePerfEvents, probeNetfilter, probeTestRunOnCpu, probeTokens, probeUserRingBuffer,
} from "./misc.js";
import type { ProbeResult } from "./probe.js";
import { ALL_PROGRAM_TYPES, probeProgramType } from "./program-types.js";
import { probeBpfSyscall } from "./report.js";

export { notSupported, probeBodiesRun, requireFeature } from "./probe.js";
export type { ProbeResult, ProbeStatus } from "./probe.js";
export { ALL_PROGRAM_TYPES, PROGRAM_TYPE_MIN_KERNEL, probeProgramType } from "./program-types.js";
export { ALL_MAP_TYPES, MAP_FLAG_PROBES, MAP_TYPE_MIN_KERNEL, probeMapFlag, probeMapType } from "./map-types.js";
export type { ProbedMapFlag, ProbedMapType } from "./map-types.js";
export { availableHelpers, HELPER_PROBE_UNSUPPORTED_TYPES, NOISY_HELPERS, probeHelper } from "./helpers.js";
export type { AvailableHelpersOptions } from "./helpers.js";
export { isaVersion, probeBoundedLoops, probeIsaV2, probeIsaV3, probeIsaV4, probeLargeInsnLimit } from "./isa.js";
export { BTF_FEATURE_NAMES, probeBtf, probeBtfFeatures, probeBtfKind } from "./btf.js";
export {
  probeArena, probeBpfCookie, probeBpfLoop, probeJit, probeKfuncs, probeMemcgAccounting, probeRingBuffer, probeSleepable,
  probeHardwarePerfEvents, probeNetfilter, probeTestRunOnCpu, probeTokens, probeUserRingBuffer,
} from "./misc.js";
export { LINK_KIND_MIN_KERNEL, probeBpfLinks, probeLinkKind, probeTracingAttach, TRACING_ATTACH } from "./attach.js";
export type { ProbedLinkKind, ProbedTracingAttach } from "./attach.js";
export { BPF_CAPABILITIES, bpfSysctls, capabilities, hasBpfPrivilege, runningKernelConfig } from "./system.js";
export type { BpfSysctls, Capabilities, CapabilityName } from "./system.js";
export { BPFTOOL_CONFIG_OPTIONS, bpftoolReport, probeBpfSyscall } from "./report.js";
export type { BpftoolFeatureReport, BpftoolReportOptions } from "./report.js";

/** The families probeAll() groups its answers in. */
export type ProbeFamily = "syscall" | "program_types" | "map_types" | "map_flags" | "isa" | "btf" | "links" | "tracing" | "misc";

/**
 * Run every probe but the per-helper ones (see availableHelpers) and return the answers by
 * family, in a stable order. Each is cached, so a second call makes no syscall.
 */
export function probeAll(): Record<ProbeFamily, ProbeResult[]> {
  return {
    syscall: [probeBpfSyscall()],
    program_types: ALL_PROGRAM_TYPES.map((t) => probeProgramType(t)),
    map_types: ALL_MAP_TYPES.map((t) => probeMapType(t)),
    map_flags: (Object.keys(MAP_FLAG_PROBES) as ProbedMapFlag[]).map((f) => probeMapFlag(f)),
    isa: [probeIsaV2(), probeIsaV3(), probeIsaV4(), probeLargeInsnLimit(), probeBoundedLoops()],
    btf: [probeBtf(), ...BTF_FEATURE_NAMES.map((k) => probeBtfKind(k))],
    links: [probeBpfLinks(), ...(Object.keys(LINK_KIND_MIN_KERNEL) as ProbedLinkKind[]).map((k) => probeLinkKind(k))],
    tracing: [...(Object.keys(TRACING_ATTACH) as ProbedTracingAttach[]).map((a) => probeTracingAttach(a)), probeTracingAttach("trace_iter", "bpf_map_elem")],
    misc: [
      probeBpfCookie(), probeBpfLoop(), probeRingBuffer(), probeUserRingBuffer(), probeKfuncs(), probeTokens(), probeArena(),
      probeSleepable(), probeTestRunOnCpu(), probeNetfilter(), probeMemcgAccounting(), probeJit(), probeHardwarePerfEvents(),
    ],
  };
}
