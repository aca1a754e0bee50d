import { describe, expect, it } from "vitest";
import { parseSectionName, SECTION_DEFS } from "../../src/spec/section-names.js";
import { isAttachTypeName, isProgramTypeName } from "../../src/spec/program-type.js";

type Case = [section: string, type: string | undefined, attach?: string, extra?: Record<string, unknown>];

const CASES: Case[] = [
  ["socket", "socket_filter"],
  ["socket/filter", "socket_filter", undefined, { legacy: true }],
  ["sk_reuseport/migrate", "sk_reuseport", "sk_reuseport_select_or_migrate", { attachable: true }],
  ["sk_reuseport", "sk_reuseport", "sk_reuseport_select", { attachable: true }],
  ["kprobe/do_sys_open", "kprobe", undefined, { target: { kind: "kprobe", function: "do_sys_open", offset: 0 } }],
  ["kprobe/do_sys_open+0x10", "kprobe", undefined, { target: { kind: "kprobe", function: "do_sys_open", offset: 16 } }],
  ["kprobe", "kprobe", undefined, { target: undefined }],
  ["kretprobe/vfs_read", "kprobe", undefined, { retprobe: true }],
  ["kprobex/foo", undefined],
  ["uprobe//bin/bash:readline", "kprobe", undefined, { target: { kind: "uprobe", path: "/bin/bash", function: "readline", offset: 0 } }],
  ["uprobe//lib/libc.so.6:malloc+8", "kprobe", undefined, { target: { kind: "uprobe", path: "/lib/libc.so.6", function: "malloc", offset: 8 } }],
  ["uprobe.s//bin/bash:readline", "kprobe", undefined, { sleepable: true }],
  ["uretprobe//bin/bash:readline", "kprobe", undefined, { retprobe: true }],
  ["uretprobe.s//bin/bash:readline", "kprobe", undefined, { retprobe: true, sleepable: true }],
  ["kprobe.multi/tcp_*", "kprobe", "trace_kprobe_multi", { target: { kind: "name", name: "tcp_*" } }],
  ["kretprobe.multi/tcp_*", "kprobe", "trace_kprobe_multi", { retprobe: true }],
  ["kprobe.session/x", "kprobe", "trace_kprobe_session"],
  ["uprobe.multi//bin/bash:read*", "kprobe", "trace_uprobe_multi"],
  ["uretprobe.multi//bin/bash:read*", "kprobe", "trace_uprobe_multi", { retprobe: true }],
  ["uprobe.multi.s//bin/x:f", "kprobe", "trace_uprobe_multi", { sleepable: true }],
  ["uretprobe.multi.s//bin/x:f", "kprobe", "trace_uprobe_multi", { sleepable: true, retprobe: true }],
  ["uprobe.session//bin/x:f", "kprobe", "trace_uprobe_session"],
  ["uprobe.session.s//bin/x:f", "kprobe", "trace_uprobe_session", { sleepable: true }],
  ["ksyscall/openat", "kprobe", undefined, { target: { kind: "name", name: "openat" } }],
  ["kretsyscall/openat", "kprobe", undefined, { retprobe: true }],
  ["usdt//usr/bin/python3:python:function__entry", "kprobe", undefined, { usdt: true, target: { kind: "usdt", path: "/usr/bin/python3", provider: "python", name: "function__entry" } }],
  ["usdt.s//bin/x:p:n", "kprobe", undefined, { usdt: true, sleepable: true }],
  ["tc/ingress", "sched_cls", "tcx_ingress"],
  ["tc/egress", "sched_cls", "tcx_egress"],
  ["tcx/ingress", "sched_cls", "tcx_ingress"],
  ["tcx/egress", "sched_cls", "tcx_egress"],
  ["tc", "sched_cls"],
  ["classifier", "sched_cls"],
  ["classifier/foo", "sched_cls", undefined, { legacy: true }],
  ["action", "sched_act"],
  ["netkit/primary", "sched_cls", "netkit_primary"],
  ["netkit/peer", "sched_cls", "netkit_peer"],
  ["tracepoint/syscalls/sys_enter_openat", "tracepoint", undefined, { target: { kind: "tracepoint", category: "syscalls", name: "sys_enter_openat" } }],
  ["tp/sched/sched_switch", "tracepoint", undefined, { target: { kind: "tracepoint", category: "sched", name: "sched_switch" } }],
  ["tp/nocategory", "tracepoint", undefined, { target: undefined, targetText: "nocategory" }],
  ["raw_tracepoint/sched_switch", "raw_tracepoint"],
  ["raw_tp/sched_switch", "raw_tracepoint", undefined, { target: { kind: "name", name: "sched_switch" } }],
  ["raw_tracepoint.w/x", "raw_tracepoint_writable"],
  ["raw_tp.w/x", "raw_tracepoint_writable"],
  ["tp_btf/sched_switch", "tracing", "trace_raw_tp", { attachBtf: true }],
  ["fentry/do_unlinkat", "tracing", "trace_fentry", { attachBtf: true, sleepable: false }],
  ["fmod_ret/x", "tracing", "modify_return", { attachBtf: true }],
  ["fexit/x", "tracing", "trace_fexit", { attachBtf: true }],
  ["fentry.s/x", "tracing", "trace_fentry", { sleepable: true, attachBtf: true }],
  ["fmod_ret.s/x", "tracing", "modify_return", { sleepable: true, attachBtf: true }],
  ["fexit.s/x", "tracing", "trace_fexit", { sleepable: true, attachBtf: true }],
  ["freplace/handler", "ext", undefined, { attachBtf: true }],
  ["lsm/file_open", "lsm", "lsm_mac", { attachBtf: true }],
  ["lsm.s/file_open", "lsm", "lsm_mac", { sleepable: true, attachBtf: true }],
  ["lsm_cgroup/socket_bind", "lsm", "lsm_cgroup", { attachBtf: true }],
  ["iter/task", "tracing", "trace_iter", { target: { kind: "name", name: "task" }, attachBtf: true }],
  ["iter.s/task", "tracing", "trace_iter", { sleepable: true, attachBtf: true }],
  ["syscall", "syscall", undefined, { sleepable: true }],
  ["xdp.frags/devmap", "xdp", "xdp_devmap", { xdpFrags: true }],
  ["xdp/devmap", "xdp", "xdp_devmap", { xdpFrags: false, attachable: true }],
  ["xdp.frags/cpumap", "xdp", "xdp_cpumap", { xdpFrags: true }],
  ["xdp/cpumap", "xdp", "xdp_cpumap", { attachable: true }],
  ["xdp.frags", "xdp", "xdp", { xdpFrags: true }],
  ["xdp", "xdp", "xdp", { legacy: false, attachable: true, attachTypeOptional: true }],
  ["xdp/prog", "xdp", "xdp", { legacy: true, attachable: true, attachTypeOptional: true }],
  ["xdp/devmap/fwd", "xdp", "xdp_devmap", { legacy: true, attachable: true }],
  ["xdp.frags/prog", "xdp", "xdp", { legacy: true, xdpFrags: true }],
  ["xdpfoo", undefined],
  ["perf_event", "perf_event"],
  ["lwt_in", "lwt_in"],
  ["lwt_out", "lwt_out"],
  ["lwt_xmit", "lwt_xmit"],
  ["lwt_seg6local", "lwt_seg6local"],
  ["sockops", "sock_ops", "cgroup_sock_ops", { attachable: true, attachTypeOptional: true }],
  ["sk_skb/stream_parser", "sk_skb", "sk_skb_stream_parser", { attachable: true, attachTypeOptional: true }],
  ["sk_skb/stream_verdict", "sk_skb", "sk_skb_stream_verdict", { attachable: true, attachTypeOptional: true }],
  ["sk_skb/verdict", "sk_skb", "sk_skb_verdict", { attachable: true, attachTypeOptional: true }],
  ["sk_skb", "sk_skb"],
  ["sk_msg", "sk_msg", "sk_msg_verdict", { attachable: true, attachTypeOptional: true }],
  ["lirc_mode2", "lirc_mode2", "lirc_mode2", { attachable: true, attachTypeOptional: true }],
  ["flow_dissector", "flow_dissector", "flow_dissector", { attachable: true, attachTypeOptional: true }],
  ["cgroup_skb/ingress", "cgroup_skb", "cgroup_inet_ingress", { attachable: true, attachTypeOptional: true }],
  ["cgroup_skb/egress", "cgroup_skb", "cgroup_inet_egress", { attachable: true, attachTypeOptional: true }],
  ["cgroup/skb", "cgroup_skb"],
  ["cgroup/sock_create", "cgroup_sock", "cgroup_inet_sock_create", { attachable: true }],
  ["cgroup/sock_release", "cgroup_sock", "cgroup_inet_sock_release", { attachable: true }],
  ["cgroup/sock", "cgroup_sock", "cgroup_inet_sock_create", { attachable: true, attachTypeOptional: true }],
  ["cgroup/post_bind4", "cgroup_sock", "cgroup_inet4_post_bind", { attachable: true }],
  ["cgroup/post_bind6", "cgroup_sock", "cgroup_inet6_post_bind", { attachable: true }],
  ["cgroup/bind4", "cgroup_sock_addr", "cgroup_inet4_bind", { attachable: true }],
  ["cgroup/bind6", "cgroup_sock_addr", "cgroup_inet6_bind", { attachable: true }],
  ["cgroup/connect4", "cgroup_sock_addr", "cgroup_inet4_connect", { attachable: true }],
  ["cgroup/connect6", "cgroup_sock_addr", "cgroup_inet6_connect", { attachable: true }],
  ["cgroup/connect_unix", "cgroup_sock_addr", "cgroup_unix_connect", { attachable: true }],
  ["cgroup/sendmsg4", "cgroup_sock_addr", "cgroup_udp4_sendmsg", { attachable: true }],
  ["cgroup/sendmsg6", "cgroup_sock_addr", "cgroup_udp6_sendmsg", { attachable: true }],
  ["cgroup/sendmsg_unix", "cgroup_sock_addr", "cgroup_unix_sendmsg", { attachable: true }],
  ["cgroup/recvmsg4", "cgroup_sock_addr", "cgroup_udp4_recvmsg", { attachable: true }],
  ["cgroup/recvmsg6", "cgroup_sock_addr", "cgroup_udp6_recvmsg", { attachable: true }],
  ["cgroup/recvmsg_unix", "cgroup_sock_addr", "cgroup_unix_recvmsg", { attachable: true }],
  ["cgroup/getpeername4", "cgroup_sock_addr", "cgroup_inet4_getpeername", { attachable: true }],
  ["cgroup/getpeername6", "cgroup_sock_addr", "cgroup_inet6_getpeername", { attachable: true }],
  ["cgroup/getpeername_unix", "cgroup_sock_addr", "cgroup_unix_getpeername", { attachable: true }],
  ["cgroup/getsockname4", "cgroup_sock_addr", "cgroup_inet4_getsockname", { attachable: true }],
  ["cgroup/getsockname6", "cgroup_sock_addr", "cgroup_inet6_getsockname", { attachable: true }],
  ["cgroup/getsockname_unix", "cgroup_sock_addr", "cgroup_unix_getsockname", { attachable: true }],
  ["cgroup/sysctl", "cgroup_sysctl", "cgroup_sysctl", { attachable: true }],
  ["cgroup/getsockopt", "cgroup_sockopt", "cgroup_getsockopt", { attachable: true }],
  ["cgroup/setsockopt", "cgroup_sockopt", "cgroup_setsockopt", { attachable: true }],
  ["cgroup/dev", "cgroup_device", "cgroup_device", { attachable: true, attachTypeOptional: true }],
  ["cgroup/unknown", undefined],
  ["struct_ops/tcp_init", "struct_ops", undefined, { target: { kind: "name", name: "tcp_init" } }],
  ["struct_ops.s/x", "struct_ops", undefined, { sleepable: true }],
  ["sk_lookup", "sk_lookup", "sk_lookup", { attachable: true }],
  ["sk_lookup/dispatch", "sk_lookup", "sk_lookup", { legacy: true, attachable: true }],
  // The legacy rule (cilium/ebpf): any exact-match row followed by "/…", the most specific row first.
  ["socket/", "socket_filter", undefined, { legacy: true }],
  ["socket1", undefined],
  ["action/police", "sched_act", undefined, { legacy: true }],
  ["tc/ingress/main", "sched_cls", "tcx_ingress", { legacy: true }],
  ["tc/main", "sched_cls", undefined, { legacy: true }],
  ["sk_skb/stream_parser/p", "sk_skb", "sk_skb_stream_parser", { legacy: true, attachable: true, attachTypeOptional: true }],
  ["sk_skb/other", "sk_skb", undefined, { legacy: true }],
  ["sk_reuseport/select", "sk_reuseport", "sk_reuseport_select", { legacy: true, attachable: true }],
  ["cgroup/connect4/v2", "cgroup_sock_addr", "cgroup_inet4_connect", { legacy: true, attachable: true }],
  ["cgroup/sock/v2", "cgroup_sock", "cgroup_inet_sock_create", { legacy: true, attachable: true, attachTypeOptional: true }],
  ["lirc_mode2/x", "lirc_mode2", "lirc_mode2", { legacy: true, attachable: true, attachTypeOptional: true }],
  ["syscall/x", "syscall", undefined, { legacy: true, sleepable: true }],
  ["netfilter/x", "netfilter", "netfilter", { legacy: true }],
  // "+" rows take "/target" or nothing; "name/" gives no target text.
  ["lsm", "lsm", "lsm_mac", { attachBtf: true, targetText: undefined, target: undefined }],
  ["fentry/", "tracing", "trace_fentry", { attachBtf: true, targetText: undefined }],
  ["struct_ops", "struct_ops", undefined, { target: undefined }],
  ["fentryx/f", undefined],
  ["uprobe.multix//bin/x:f", undefined],
  // Exact rows take nothing after them.
  ["sk_msgx", undefined],
  ["cgroup/connect44", undefined],
  ["perf_event/x", "perf_event", undefined, { legacy: true }],
  // Newer than Linux 6.18 (libbpf 1.7+): not in the table.
  ["fsession/f", undefined],
  ["fsession.s/f", undefined],
  ["fentry.multi/f*", undefined],
  ["fexit.multi.s/f*", undefined],
  ["tp.s/syscalls/sys_enter_openat", undefined],
  ["raw_tp.s/sys_enter", undefined],
  ["tp_btf.s/sys_enter", undefined],
  ["netfilter", "netfilter", "netfilter"],
  ["?xdp", "xdp", "xdp", { autoload: false, name: "xdp", attachable: true, attachTypeOptional: true }],
  ["?tp/sched/sched_switch", "tracepoint", undefined, { autoload: false }],
  [".text", undefined],
  [".maps", undefined],
  ["license", undefined],
  ["", undefined],
];

const FLAGS = ["sleepable", "xdpFrags", "attachBtf", "retprobe", "usdt", "attachable", "attachTypeOptional"] as const;

describe("section names follow libbpf's convention", () => {
  it.each(CASES)("%s", (section, type, attach, extra) => {
    const info = parseSectionName(section);
    if (type === undefined) {
      expect(info).toBeUndefined();
      return;
    }
    expect(info?.type).toBe(type);
    expect(info?.attachType).toBe(attach);
    expect(info?.autoload).toBe(extra?.autoload ?? true);
    expect(info?.legacy).toBe(extra?.legacy ?? false);
    // Every flag a case does not name must be off: a row that gains a wrong flag fails here.
    for (const flag of FLAGS) expect(info?.[flag], flag).toBe(extra?.[flag] ?? false);
    for (const [k, v] of Object.entries(extra ?? {})) expect((info as unknown as Record<string, unknown>)[k], k).toEqual(v);
  });

  it("every row names known program and attach types and is reachable", () => {
    // libbpf 1.6 (Linux 6.18) has 103 rows; rows newer than 6.18 stay out.
    expect(SECTION_DEFS.length).toBe(103);
    expect(new Set(SECTION_DEFS.map((d) => d.pattern)).size).toBe(SECTION_DEFS.length);
    for (const def of SECTION_DEFS) {
      expect(isProgramTypeName(def.type), def.pattern).toBe(true);
      if (def.attachType) expect(isAttachTypeName(def.attachType), def.pattern).toBe(true);
      // The row itself, spelled as a section, must be matched by this very row (no shadowing).
      const spelled = def.pattern.endsWith("+") ? `${def.pattern.slice(0, -1)}/x` : def.pattern;
      expect(parseSectionName(spelled)?.def, def.pattern).toBe(def);
    }
  });

  it("a row takes a target exactly when libbpf's pattern ends in +", () => {
    for (const def of SECTION_DEFS) {
      expect(def.pattern.endsWith("/"), def.pattern).toBe(false);
      expect(def.target !== undefined, def.pattern).toBe(def.pattern.endsWith("+"));
      // Only "+" rows have a BTF attach target, and each of them is named after "/".
      if (def.attachBtf) expect(def.target, def.pattern).toBe("name");
      if (def.xdpFrags) expect(def.type, def.pattern).toBe("xdp");
      if (def.attachTypeOptional) expect(def.attachable, def.pattern).toBe(true);
    }
  });

  it("a ? prefix only clears autoload, for every row", () => {
    for (const def of SECTION_DEFS) {
      const spelled = def.pattern.endsWith("+") ? `${def.pattern.slice(0, -1)}/x` : def.pattern;
      const plain = parseSectionName(spelled)!;
      const optional = parseSectionName(`?${spelled}`)!;
      expect(optional.autoload, def.pattern).toBe(false);
      expect({ ...optional, autoload: true }, def.pattern).toEqual(plain);
    }
  });

  it("every row's pattern is covered by a case above", () => {
    // Only cases the table matches directly count, so each row is checked by its own spelling.
    const covered = new Set(CASES.map(([s]) => parseSectionName(s)).filter((i) => i && !i.legacy).map((i) => i!.def.pattern));
    for (const def of SECTION_DEFS) expect(covered.has(def.pattern), def.pattern).toBe(true);
  });
});
