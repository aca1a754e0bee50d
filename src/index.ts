/**
 * tsbpf's public API: what a program that loads, attaches and reads BPF objects uses. Named
 * exports only: each layer adds its own section below. The toolkits of the pure layers have
 * their own entries, with what a loader does inside (CO-RE piece by piece, BTF fixups, ELF
 * constants): `tsbpf/asm`, `tsbpf/btf`, `tsbpf/elf` (src/subpaths/).
 */

// --- errors ---
export {
  TsbpfError,
  SyscallError,
  BpfError,
  VerifierError,
  type VerifierExplanation,
  type VerifierContext,
  type VerifierSourceLine,
  NotSupportedError,
  ClosedError,
  ParseError,
  errnoName,
  isTsbpfError,
  isSyscallError,
  isBpfError,
  isVerifierError,
  isNotSupportedError,
  isClosedError,
  isParseError,
} from "./errors.js";

// --- asm ---
export type { Instruction, Reference, Register, SourceLine, ByteOrder } from "./asm/instruction.js";
export { encodeInstructions, decodeInstructions } from "./asm/encoding.js";
export { instructionProblem } from "./asm/validate.js";
export { HELPER_NAMES, helperId, helperName } from "./asm/helpers.js";
export { opcodes } from "./asm/opcodes-namespace.js";
export {
  R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, regNumber,
  add64, sub64, mul64, div64, sdiv64, or64, and64, lsh64, rsh64, mod64, smod64, xor64, mov64, arsh64, neg64,
  add32, sub32, mul32, div32, sdiv32, or32, and32, lsh32, rsh32, mod32, smod32, xor32, mov32, arsh32, neg32,
  movsx64, movsx32, addrSpaceCast, be, le, bswap,
  ldx, ldxsx, stx, st, ldAbs, ldInd, atomic, loadAcquire, storeRelease,
  ldImm64, ldMapFd, ldMapValue, ldMapIdx, ldMapIdxValue, ldBtfId, ldFunc,
  jeq, jne, jgt, jge, jlt, jle, jsgt, jsge, jslt, jsle, jset,
  jeq32, jne32, jgt32, jge32, jlt32, jle32, jsgt32, jsge32, jslt32, jsle32, jset32,
  ja, gotol, mayGoto, call, callFunction, callKfunc, exit, label, instructions,
} from "./asm/builder.js";
export type { Reg, Operand, Target, Label, InstructionItem, AtomicOpName } from "./asm/builder.js";
export { asm, assemble } from "./asm/assembler.js";
export { linkInstructions } from "./asm/link.js";
export type { LinkOptions } from "./asm/link.js";
export { formatInstruction } from "./asm/format.js";
export type { Dialect, FormatOptions } from "./asm/format.js";
export { disassemble } from "./asm/disassemble.js";
export type { DisassembleOptions, ListingSymbol } from "./asm/disassemble.js";

// --- btf ---
export { parseBtf, BtfSpec, essentialName } from "./btf/spec.js";
export type { ParseBtfOptions } from "./btf/spec.js";
export { BtfBuilder, marshalBtf } from "./btf/marshal.js";
export type { BtfBuilderOptions } from "./btf/marshal.js";
export { skipQualifiers, skipModifiers, typeSize, typeAlignment } from "./btf/query.js";
export { BTF_KIND } from "./btf/types.js";
export { codecFromBtf } from "./btf/codec.js";
export type { BtfCodecOptions } from "./btf/codec.js";
export { dumpC } from "./btf/c-dump.js";
export type { DumpCOptions } from "./btf/c-dump.js";
export { dumpRaw } from "./btf/raw-dump.js";
export { kernelBtf, moduleBtf, kernelModulesWithBtf, releaseKernelBtf } from "./features/kernel-btf.js";
export type { KernelBtfOptions } from "./features/kernel-btf.js";
export { Btf } from "./map/btf.js";
export type { BtfLoadOptions, BtfInfo } from "./map/btf.js";
export type {
  BtfKind, BtfType, BtfTypeInit, BtfTypeOfKind, BtfInt, BtfPtr, BtfArray, BtfStruct, BtfUnion, BtfComposite,
  BtfMember, BtfEnum, BtfEnum64, BtfEnumValue, BtfEnum64Value, BtfFwd, BtfTypedef, BtfVolatile, BtfConst,
  BtfRestrict, BtfFunc, BtfFuncProto, BtfParam, BtfVar, BtfVarSecinfo, BtfDatasec, BtfFloat, BtfDeclTag,
  BtfTypeTag, BtfVoid, BtfFuncLinkage, BtfVarLinkage,
} from "./btf/types.js";
// --- core (the engine piece by piece: tsbpf/btf) ---
export { applyCoreAndKsyms } from "./collection/core-apply.js";
export type { CoreAndKsymsOptions, CoreAndKsymsResult, CoreInput } from "./collection/core-apply.js";
export { CoreRelocationError } from "./btf/core/relocation-error.js";
export { CorePoisonError } from "./btf/core/poison.js";

// --- maps ---
export { BpfMap, MapBatchCursor } from "./map/bpf-map.js";
export type {
  MapInfo,
  UpdateMode,
  SetOptions,
  GetOptions,
  MapCreateOptions,
  MapOpenOptions,
  BatchOptions,
  BatchResult,
  BatchUpdateOptions,
  RawBatchResult,
} from "./map/bpf-map.js";
export type { MapSpec, MapPinning, FdLike } from "./spec/map-spec.js";
export { MAP_TYPES, mapTypeName, mapTypeNumber, isMapTypeName } from "./spec/map-type.js";
export type { MapTypeName, PerCpuMapTypeName } from "./spec/map-type.js";
export { MmapArrayView } from "./map/mmap-view.js";
export type { MmapOptions } from "./map/mmap-view.js";
export { MapFlags } from "./spec/map-spec.js";
export { codecs } from "./codec.js";
export type { Codec, CodecValue, StructField, StructOptions } from "./codec.js";

// --- programs ---
export { Program, StatsHandle } from "./program/program.js";
export type { ProgramOpenOptions } from "./program/program.js";
export { ProgramFlags, kernelProgramName } from "./spec/program-spec.js";
export type { ProgramSpec, ProgramBtfInfo, ProgramFdLike } from "./spec/program-spec.js";
export type { ProgramLoadOptions, MapFdLike } from "./program/load.js";
export { TestRunFlags, PreparedRun } from "./program/test-run.js";
export type { RunOptions, RunResult } from "./program/test-run.js";
export type { ProgramInfo } from "./program/info.js";
export {
  PROGRAM_TYPES,
  ATTACH_TYPES,
  programTypeName,
  attachTypeName,
  programTypeNumber,
  attachTypeNumber,
  isProgramTypeName,
  isAttachTypeName,
} from "./spec/program-type.js";
export type { ProgramTypeName, AttachTypeName } from "./spec/program-type.js";

// --- elf / collection ---
export { parseSectionName } from "./spec/section-names.js";
export type { SectionDef, SectionInfo, SectionTarget, TargetKind } from "./spec/section-names.js";
export { CollectionSpec } from "./elf/collection-spec.js";
export type { CollectionSpecOptions } from "./elf/collection-spec.js";
export type { VariableSpec, ExternSpec, CollectionSpecData } from "./spec/collection-spec.js";
export type { MapSlotValue, StructOpsSpec } from "./spec/map-spec.js";
export type { ProgramFuncInfo, ProgramLineInfo, ProgramCoreRelocation } from "./spec/program-spec.js";
export { SpecVariable } from "./elf/variables.js";
export type { VariableValue } from "./elf/variables.js";
export { parseKconfig, kernelVersionCode } from "./elf/kconfig.js";
export { Collection, CollectionVariable } from "./collection/collection.js";
export { DEFAULT_MAX_MAP_BYTES } from "./collection/limits.js";
export type { CollectionLoadOptions, ProgramLoadSettings } from "./collection/collection.js";

// --- links ---
export { attach } from "./link/attach.js";
export type { LinkKind } from "./link/kinds.js";
export { Link, type LinkInfo, type AttachProgram } from "./link/link.js";
export { attachXdp, queryXdp, type XdpOptions, type XdpMode, type XdpQueryResult } from "./link/xdp.js";
export { attachTcx, queryTcx, type TcxOptions, type MprogQueryResult } from "./link/tcx.js";
export { attachTc, queryTc, removeClsact, type TcOptions, type TcFilter } from "./link/tc.js";
export { attachNetkit, queryNetkit, type NetkitOptions } from "./link/netkit.js";
export { attachNetfilter, queryNetfilter, type NetfilterOptions } from "./link/netfilter.js";
export { attachCgroup, queryCgroup, CGROUP_ATTACH_TYPES, type CgroupOptions, type CgroupAttachType, type CgroupQueryResult, type CgroupRef } from "./link/cgroup.js";
export { attachSocketFilter, type SocketFilterOptions } from "./link/socket-filter.js";
export { attachSkLookup, attachFlowDissector, queryNetns, type NetnsOptions } from "./link/netns.js";
export { attachSockmap, type SockmapOptions, type SockmapAttachType } from "./link/sockmap.js";
export { attachTracepoint, type TracepointOptions } from "./link/tracepoint.js";
export { attachRawTracepoint, attachTpBtf, type RawTracepointOptions } from "./link/raw-tracepoint.js";
export { attachTracing, attachLsm, attachFreplace, type TracingOptions, type FreplaceOptions } from "./link/tracing.js";
export { kernelBtfTarget, btfTargetName, type BtfTargetKind } from "./link/btf-target.js";
export { attachIter, type IterOptions, type IterLink } from "./link/iter.js";
export { attachPerfEvent, type PerfEventOptions, type PerfEventSpec } from "./link/perf-event.js";
export { attachKprobe, kprobesAvailable, type KprobeOptions } from "./link/kprobe.js";
export { attachKprobeMulti, type KprobeMultiOptions } from "./link/kprobe-multi.js";
export { attachUprobe, type UprobeOptions } from "./link/uprobe.js";
export { attachUprobeMulti, type UprobeMultiOptions } from "./link/uprobe-multi.js";
export { attachUsdt, parseUsdtNotes, parseUsdtArgs, type UsdtOptions, type UsdtNote } from "./link/usdt.js";
export { attachStructOps, attachStructOpsMap, createStructOpsMap, type StructOpsOptions, type StructOpsMapOptions, type StructOpsLink } from "./link/struct-ops.js";
export { structOpsProgramTarget } from "./collection/struct-ops.js";
export type { InterfaceRef, Anchor, OrderingOptions } from "./link/target.js";
export { attachBySection, planAttach, type AttachPlan } from "./link/auto.js";
export { attachLircMode2, type LircMode2Options } from "./link/lirc.js";

// --- readers ---
export { RingBufReader, RingBufRecord, type RingBufReaderOptions, type RingBufWaitOptions, type RecordsOptions, type RingBufCallback } from "./ringbuf/reader.js";
export { UserRingBufWriter, UserRingBufSample, type UserRingBufWriterOptions } from "./ringbuf/user-writer.js";
export { PerfReader, PerfRecord, type PerfReaderOptions, type PerfCallback, type PerfEvent } from "./perf/reader.js";

// --- bench: the BPF program benchmark harness ---
export { benchmark, compare, checkBenchmarkable, type BenchmarkOptions, type BenchmarkResult, type BenchInput, type ComparisonResult } from "./bench/benchmark.js";
export { summarize, quantile, median, mad, medianInterval, outlierIndices, ratioOfPairs, ratioOfSamples, type Summary, type Interval, type RatioEstimate, type Verdict } from "./bench/stats.js";
export { buildPacket, parsePacketSpec, internetChecksum, headerSize, type PacketOptions, type PacketProtocol } from "./bench/packet.js";
export { readCapture, writePcap, writePcapng, captureFormat, LINKTYPE_ETHERNET, type CapturedPacket, type ReadCaptureOptions, type PacketToWrite, type WriteCaptureOptions } from "./bench/pcap.js";
export { xdpContext, skbContext, type XdpContextOptions, type SkbContextOptions } from "./bench/context.js";
export { loadCost, parseVerifierStats, type ProgramLoadCost, type VerifierStats, type LoadCostOptions } from "./bench/load-cost.js";
export { liveStats, type LiveStatsOptions, type LiveStatsResult, type LiveProgramStats } from "./bench/live.js";
export { checkBaseline, expectNoRegression, readBaseline, type BaselineOptions, type BaselineCheck, type BaselineFile, type BaselineEntry } from "./bench/baseline.js";
export { formatResults, formatComparison, formatLoadCost, formatLiveStats, histogram } from "./bench/format.js";

// --- gen (typed bindings; the runtime that modules written by `tsbpf gen` import) ---
export { generateBindings, pascalCase, type GenerateOptions } from "./gen/generate.js";
export {
  GeneratedSpec,
  GeneratedCollection,
  LinkGroup,
  TypedRingBufReader,
  TypedPerfReader,
  embeddedObject,
  sidecarObject,
  type BindingShape,
  type BindingMeta,
  type CharsAsBytes,
  type CharArrayOptions,
  type SpecVariableOf,
  type VariableOf,
  type ConstantOf,
  type SpecVariables,
  type LiveVariables,
  type MapsOfType,
  type AttachAllOptions,
  type AttachKind,
  type AttachOptionsOf,
  type AttachExtra,
  type MapOfMaps,
  type ProgArray,
  type KeyOfMap,
  type InnerOfMap,
  type TypedPerfEvent,
} from "./gen/runtime.js";
export { PROGRAM_KIND, type ProgramKindMark } from "./spec/program-type.js";
// --- verifier ---
import "./verifier/install.js";
export { parseVerifierLog, parseState, stateBefore, LogInstruction } from "./verifier/parse.js";
export type { VerifierLog, LogSourceLine, LogBranch, LogSubprogram, VerifierStats as VerifierLogStats, RegisterState } from "./verifier/parse.js";
export { explainVerifierLog, explanationSentence, sourceLineAt, subprogramAt } from "./verifier/explain.js";
export { CATALOGUE } from "./verifier/catalogue.js";
export type { CatalogueEntry } from "./verifier/catalogue.js";

// --- logs from BPF programs ---
export { readTracePipe, parseTraceLine, matchesTraceFilter, tracePipePath } from "./trace/trace-pipe.js";
export type { TraceLine, TraceFilter, TracePipeOptions } from "./trace/trace-pipe.js";
export { readBpfStream, watchBpfStream, bpfStreamsSupported } from "./trace/stream.js";
export type { BpfStreamName, BpfStreamWatchOptions, ProgramFdSource } from "./trace/stream.js";

// --- feature probes ---
export {
  probeAll, bpftoolReport, requireFeature, notSupported, probeProgramType, probeMapType, probeMapFlag, probeHelper,
  availableHelpers, probeIsaV2, probeIsaV3, probeIsaV4, isaVersion, probeLargeInsnLimit, probeBoundedLoops, probeBtf,
  probeBtfKind, probeBtfFeatures, probeBpfCookie, probeBpfLoop, probeRingBuffer, probeUserRingBuffer, probeKfuncs,
  probeTokens, probeArena, probeSleepable, probeTestRunOnCpu, probeNetfilter, probeMemcgAccounting, probeJit,
  probeHardwarePerfEvents, probeBpfLinks, probeLinkKind, probeTracingAttach, probeBpfSyscall, capabilities,
  hasBpfPrivilege, bpfSysctls, PROGRAM_TYPE_MIN_KERNEL, MAP_TYPE_MIN_KERNEL, MAP_FLAG_PROBES, LINK_KIND_MIN_KERNEL,
  TRACING_ATTACH,
} from "./features/index.js";
export type {
  ProbeResult, ProbeStatus, ProbeFamily, ProbedMapType, ProbedMapFlag, ProbedLinkKind, ProbedTracingAttach,
  AvailableHelpersOptions, BpftoolFeatureReport, BpftoolReportOptions, Capabilities, CapabilityName, BpfSysctls,
} from "./features/index.js";

// --- types and tables that exported signatures refer to (so the API reference resolves them) ---
export { BPF_STREAM } from "./sys/prog-stream.js";
export { CAP_NAMES } from "./features/system.js";
export { PERF_COUNT_HW, PERF_COUNT_SW } from "./sys/perf-event.js";
export { PER_CPU_MAP_TYPE_NAMES } from "./spec/map-type.js";
export type { Fd } from "./sys/fd.js";
export type { BtfTypeSource } from "./btf/query.js";
export type { EntryInput, EntryVerdict } from "./verifier/catalogue.js";
export type { FieldsValue } from "./codec.js";
export type { PerfAttachMethod } from "./link/perf-link.js";
export type { KernelFuncInfo, KernelLineInfo, ProgramDebugInfo } from "./program/line-info.js";
export type { ReaderMap } from "./ringbuf/map-ref.js";
export type { StructOpsProgramTarget } from "./collection/struct-ops.js";
export type { UsdtArgSpec, UsdtSpecMap } from "./link/usdt.js";
