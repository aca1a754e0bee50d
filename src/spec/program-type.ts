/**
 * Program types and attach types by name: the UAPI `enum bpf_prog_type` and
 * `enum bpf_attach_type` of Linux 6.18, named as bpftool prints them (the UAPI name without
 * its `BPF_PROG_TYPE_` / `BPF_` prefix, in lower case). Pure data: no kernel access, so the
 * ELF loader, the links and the CLI can all import it.
 *
 * Numbers checked against the running 6.18 kernel's own BTF (`/sys/kernel/btf/vmlinux`).
 */

/** `enum bpf_prog_type` of Linux 6.18 (`BPF_PROG_TYPE_UNSPEC` = 0 is left out: it cannot be loaded). */
export const PROGRAM_TYPES = {
  socket_filter: 1,
  kprobe: 2,
  sched_cls: 3,
  sched_act: 4,
  tracepoint: 5,
  xdp: 6,
  perf_event: 7,
  cgroup_skb: 8,
  cgroup_sock: 9,
  lwt_in: 10,
  lwt_out: 11,
  lwt_xmit: 12,
  sock_ops: 13,
  sk_skb: 14,
  cgroup_device: 15,
  sk_msg: 16,
  raw_tracepoint: 17,
  cgroup_sock_addr: 18,
  lwt_seg6local: 19,
  lirc_mode2: 20,
  sk_reuseport: 21,
  flow_dissector: 22,
  cgroup_sysctl: 23,
  raw_tracepoint_writable: 24,
  cgroup_sockopt: 25,
  tracing: 26,
  struct_ops: 27,
  ext: 28,
  lsm: 29,
  sk_lookup: 30,
  syscall: 31,
  netfilter: 32,
} as const;

/** A program type by name, e.g. `"xdp"`, `"socket_filter"`, `"sched_cls"`. */
export type ProgramTypeName = keyof typeof PROGRAM_TYPES;

/**
 * The key of a phantom property that carries a program's kind in its TypeScript type only
 * (`Program<"xdp">`), so `attach.xdp(tracepointProgram)` is a compile error. Never set at run time.
 */
export const PROGRAM_KIND: unique symbol = Symbol("tsbpf.programKind");

/**
 * The phantom kind of `Program<K>`: `K` for a program whose kind is known (generated bindings),
 * `any` for `Program` of every kind, so an untyped Program still goes wherever it went before.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ProgramKindMark<K extends ProgramTypeName> = [ProgramTypeName] extends [K] ? any : K;

/** `enum bpf_attach_type` of Linux 6.18. */
export const ATTACH_TYPES = {
  cgroup_inet_ingress: 0,
  cgroup_inet_egress: 1,
  cgroup_inet_sock_create: 2,
  cgroup_sock_ops: 3,
  sk_skb_stream_parser: 4,
  sk_skb_stream_verdict: 5,
  cgroup_device: 6,
  sk_msg_verdict: 7,
  cgroup_inet4_bind: 8,
  cgroup_inet6_bind: 9,
  cgroup_inet4_connect: 10,
  cgroup_inet6_connect: 11,
  cgroup_inet4_post_bind: 12,
  cgroup_inet6_post_bind: 13,
  cgroup_udp4_sendmsg: 14,
  cgroup_udp6_sendmsg: 15,
  lirc_mode2: 16,
  flow_dissector: 17,
  cgroup_sysctl: 18,
  cgroup_udp4_recvmsg: 19,
  cgroup_udp6_recvmsg: 20,
  cgroup_getsockopt: 21,
  cgroup_setsockopt: 22,
  trace_raw_tp: 23,
  trace_fentry: 24,
  trace_fexit: 25,
  modify_return: 26,
  lsm_mac: 27,
  trace_iter: 28,
  cgroup_inet4_getpeername: 29,
  cgroup_inet6_getpeername: 30,
  cgroup_inet4_getsockname: 31,
  cgroup_inet6_getsockname: 32,
  xdp_devmap: 33,
  cgroup_inet_sock_release: 34,
  xdp_cpumap: 35,
  sk_lookup: 36,
  xdp: 37,
  sk_skb_verdict: 38,
  sk_reuseport_select: 39,
  sk_reuseport_select_or_migrate: 40,
  perf_event: 41,
  trace_kprobe_multi: 42,
  lsm_cgroup: 43,
  struct_ops: 44,
  netfilter: 45,
  tcx_ingress: 46,
  tcx_egress: 47,
  trace_uprobe_multi: 48,
  cgroup_unix_connect: 49,
  cgroup_unix_sendmsg: 50,
  cgroup_unix_recvmsg: 51,
  cgroup_unix_getpeername: 52,
  cgroup_unix_getsockname: 53,
  netkit_primary: 54,
  netkit_peer: 55,
  trace_kprobe_session: 56,
  trace_uprobe_session: 57,
} as const;

/** An attach type by name, e.g. `"cgroup_inet_ingress"`, `"xdp"`, `"tcx_ingress"`, `"trace_fentry"`. */
export type AttachTypeName = keyof typeof ATTACH_TYPES;

function invert<T extends Record<string, number>>(table: T): ReadonlyMap<number, keyof T & string> {
  const m = new Map<number, keyof T & string>();
  for (const [name, n] of Object.entries(table)) m.set(n, name as keyof T & string);
  return m;
}

const PROGRAM_TYPE_NAMES = invert(PROGRAM_TYPES);
const ATTACH_TYPE_NAMES = invert(ATTACH_TYPES);

/** The name of a program type number (`6` → `"xdp"`), or undefined for a number this table does not know. */
export function programTypeName(type: number): ProgramTypeName | undefined {
  return PROGRAM_TYPE_NAMES.get(type);
}

/** The name of an attach type number (`37` → `"xdp"`), or undefined for a number this table does not know. */
export function attachTypeName(type: number): AttachTypeName | undefined {
  return ATTACH_TYPE_NAMES.get(type);
}

/** Whether `name` is a program type name this table knows. */
export function isProgramTypeName(name: unknown): name is ProgramTypeName {
  return typeof name === "string" && Object.hasOwn(PROGRAM_TYPES, name);
}

/** Whether `name` is an attach type name this table knows. */
export function isAttachTypeName(name: unknown): name is AttachTypeName {
  return typeof name === "string" && Object.hasOwn(ATTACH_TYPES, name);
}

/**
 * The UAPI number of a program type given by name or number. A number passes through
 * unchanged (so newer kernels' types stay usable); throws TypeError for an unknown name or a
 * number that is not a u32.
 */
export function programTypeNumber(type: ProgramTypeName | number): number {
  if (typeof type === "number") {
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) throw new TypeError(`program type ${type} is not a u32`);
    return type;
  }
  if (!isProgramTypeName(type)) throw new TypeError(`unknown program type ${JSON.stringify(type)} (expected one of: ${Object.keys(PROGRAM_TYPES).join(", ")})`);
  return PROGRAM_TYPES[type];
}

/**
 * The UAPI number of an attach type given by name or number. A number passes through
 * unchanged; throws TypeError for an unknown name or a number that is not a u32.
 */
export function attachTypeNumber(type: AttachTypeName | number): number {
  if (typeof type === "number") {
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) throw new TypeError(`attach type ${type} is not a u32`);
    return type;
  }
  if (!isAttachTypeName(type)) throw new TypeError(`unknown attach type ${JSON.stringify(type)} (expected one of: ${Object.keys(ATTACH_TYPES).join(", ")})`);
  return ATTACH_TYPES[type];
}
