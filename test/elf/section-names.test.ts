import { describe, expect, it } from "vitest";
import { parseSectionName, SECTION_DEFS } from "../../src/elf/section-names.js";
import { isAttachTypeName, isProgramTypeName } from "../../src/program/program-type.js";

type Case = [section: string, type: string | undefined, attach?: string, extra?: Record<string, unknown>];

const CASES: Case[] = [
  ["socket", "socket_filter"],
  ["socket/filter", "socket_filter", undefined, { legacy: true }],
  ["sk_reuseport/migrate", "sk_reuseport", "sk_reuseport_select_or_migrate"],
  ["sk_reuseport", "sk_reuseport", "sk_reuseport_select"],
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
  ["fmod_ret/x", "tracing", "modify_return"],
  ["fexit/x", "tracing", "trace_fexit"],
  ["fentry.s/x", "tracing", "trace_fentry", { sleepable: true }],
  ["fmod_ret.s/x", "tracing", "modify_return", { sleepable: true }],
  ["fexit.s/x", "tracing", "trace_fexit", { sleepable: true }],
  ["freplace/handler", "ext", undefined, { attachBtf: true }],
  ["lsm/file_open", "lsm", "lsm_mac"],
  ["lsm.s/file_open", "lsm", "lsm_mac", { sleepable: true }],
  ["lsm_cgroup/socket_bind", "lsm", "lsm_cgroup"],
  ["iter/task", "tracing", "trace_iter", { target: { kind: "name", name: "task" } }],
  ["iter.s/task", "tracing", "trace_iter", { sleepable: true }],
  ["syscall", "syscall", undefined, { sleepable: true }],
  ["xdp.frags/devmap", "xdp", "xdp_devmap", { xdpFrags: true }],
  ["xdp/devmap", "xdp", "xdp_devmap", { xdpFrags: false }],
  ["xdp.frags/cpumap", "xdp", "xdp_cpumap", { xdpFrags: true }],
  ["xdp/cpumap", "xdp", "xdp_cpumap"],
  ["xdp.frags", "xdp", "xdp", { xdpFrags: true }],
  ["xdp", "xdp", "xdp", { legacy: false }],
  ["xdp/prog", "xdp", "xdp", { legacy: true }],
  ["xdpfoo", undefined],
  ["perf_event", "perf_event"],
  ["lwt_in", "lwt_in"],
  ["lwt_out", "lwt_out"],
  ["lwt_xmit", "lwt_xmit"],
  ["lwt_seg6local", "lwt_seg6local"],
  ["sockops", "sock_ops", "cgroup_sock_ops"],
  ["sk_skb/stream_parser", "sk_skb", "sk_skb_stream_parser"],
  ["sk_skb/stream_verdict", "sk_skb", "sk_skb_stream_verdict"],
  ["sk_skb/verdict", "sk_skb", "sk_skb_verdict"],
  ["sk_skb", "sk_skb"],
  ["sk_msg", "sk_msg", "sk_msg_verdict"],
  ["lirc_mode2", "lirc_mode2", "lirc_mode2"],
  ["flow_dissector", "flow_dissector", "flow_dissector"],
  ["cgroup_skb/ingress", "cgroup_skb", "cgroup_inet_ingress"],
  ["cgroup_skb/egress", "cgroup_skb", "cgroup_inet_egress"],
  ["cgroup/skb", "cgroup_skb"],
  ["cgroup/sock_create", "cgroup_sock", "cgroup_inet_sock_create"],
  ["cgroup/sock_release", "cgroup_sock", "cgroup_inet_sock_release"],
  ["cgroup/sock", "cgroup_sock", "cgroup_inet_sock_create"],
  ["cgroup/post_bind4", "cgroup_sock", "cgroup_inet4_post_bind"],
  ["cgroup/post_bind6", "cgroup_sock", "cgroup_inet6_post_bind"],
  ["cgroup/bind4", "cgroup_sock_addr", "cgroup_inet4_bind"],
  ["cgroup/bind6", "cgroup_sock_addr", "cgroup_inet6_bind"],
  ["cgroup/connect4", "cgroup_sock_addr", "cgroup_inet4_connect"],
  ["cgroup/connect6", "cgroup_sock_addr", "cgroup_inet6_connect"],
  ["cgroup/connect_unix", "cgroup_sock_addr", "cgroup_unix_connect"],
  ["cgroup/sendmsg4", "cgroup_sock_addr", "cgroup_udp4_sendmsg"],
  ["cgroup/sendmsg6", "cgroup_sock_addr", "cgroup_udp6_sendmsg"],
  ["cgroup/sendmsg_unix", "cgroup_sock_addr", "cgroup_unix_sendmsg"],
  ["cgroup/recvmsg4", "cgroup_sock_addr", "cgroup_udp4_recvmsg"],
  ["cgroup/recvmsg6", "cgroup_sock_addr", "cgroup_udp6_recvmsg"],
  ["cgroup/recvmsg_unix", "cgroup_sock_addr", "cgroup_unix_recvmsg"],
  ["cgroup/getpeername4", "cgroup_sock_addr", "cgroup_inet4_getpeername"],
  ["cgroup/getpeername6", "cgroup_sock_addr", "cgroup_inet6_getpeername"],
  ["cgroup/getpeername_unix", "cgroup_sock_addr", "cgroup_unix_getpeername"],
  ["cgroup/getsockname4", "cgroup_sock_addr", "cgroup_inet4_getsockname"],
  ["cgroup/getsockname6", "cgroup_sock_addr", "cgroup_inet6_getsockname"],
  ["cgroup/getsockname_unix", "cgroup_sock_addr", "cgroup_unix_getsockname"],
  ["cgroup/sysctl", "cgroup_sysctl", "cgroup_sysctl"],
  ["cgroup/getsockopt", "cgroup_sockopt", "cgroup_getsockopt"],
  ["cgroup/setsockopt", "cgroup_sockopt", "cgroup_setsockopt"],
  ["cgroup/dev", "cgroup_device", "cgroup_device"],
  ["cgroup/unknown", undefined],
  ["struct_ops/tcp_init", "struct_ops", undefined, { target: { kind: "name", name: "tcp_init" } }],
  ["struct_ops.s/x", "struct_ops", undefined, { sleepable: true }],
  ["sk_lookup", "sk_lookup", "sk_lookup"],
  ["sk_lookup/dispatch", "sk_lookup", "sk_lookup", { legacy: true }],
  ["netfilter", "netfilter", "netfilter"],
  ["?xdp", "xdp", "xdp", { autoload: false, name: "xdp" }],
  ["?tp/sched/sched_switch", "tracepoint", undefined, { autoload: false }],
  [".text", undefined],
  [".maps", undefined],
  ["license", undefined],
  ["", undefined],
];

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
    for (const [k, v] of Object.entries(extra ?? {})) expect((info as unknown as Record<string, unknown>)[k], k).toEqual(v);
  });

  it("every row names known program and attach types and is reachable", () => {
    expect(SECTION_DEFS.length).toBeGreaterThanOrEqual(100);
    for (const def of SECTION_DEFS) {
      expect(isProgramTypeName(def.type), def.pattern).toBe(true);
      if (def.attachType) expect(isAttachTypeName(def.attachType), def.pattern).toBe(true);
      // The row itself, spelled as a section, must be matched by this very row (no shadowing).
      const spelled = def.pattern.endsWith("+") ? `${def.pattern.slice(0, -1)}/x` : def.pattern;
      expect(parseSectionName(spelled)?.def, def.pattern).toBe(def);
    }
  });

  it("every row's pattern is covered by a case above", () => {
    const covered = new Set(CASES.map(([s]) => parseSectionName(s)?.def.pattern).filter(Boolean));
    for (const def of SECTION_DEFS) expect(covered.has(def.pattern), def.pattern).toBe(true);
  });
});
