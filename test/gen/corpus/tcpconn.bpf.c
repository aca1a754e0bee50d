// TCP connects (tcpconnect style): kprobe/kretprobe pair with the socket saved by thread id,
// IPv4/IPv6 addresses in a union, an enum event kind, counts by a struct flow key, ring buffer.
// tsbpf-gen: --type conn_event
#include "common.h"

#define AF_INET 2
#define AF_INET6 10

enum conn_kind { CONN_V4 = 4, CONN_V6 = 6 };

struct conn_event {
	union {
		u32 saddr_v4;
		u8 saddr_v6[16];
	};
	union {
		u32 daddr_v4;
		u8 daddr_v6[16];
	};
	char task[TASK_COMM_LEN];
	u64 ts_us;
	u32 af;
	u32 pid;
	u32 uid;
	u16 dport;
	enum conn_kind kind;
};

struct flow_key {
	u32 saddr;
	u32 daddr;
	u16 dport;
	u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct sock *);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} conns SEC(".maps");

const volatile bool do_count = false;
const volatile u16 filter_ports[8] = {};
const volatile int filter_ports_len = 0;

static __always_inline int enter(struct sock *sk)
{
	u32 tid = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&sockets, &tid, &sk, BPF_ANY);
	return 0;
}

static __always_inline int leave(int ret, enum conn_kind kind)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct sock **skpp = bpf_map_lookup_elem(&sockets, &tid);
	if (!skpp)
		return 0;
	struct sock *sk = *skpp;
	bpf_map_delete_elem(&sockets, &tid);
	if (ret)
		return 0;
	u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	for (int i = 0; i < 8 && i < filter_ports_len; i++)
		if (filter_ports[i] == dport)
			return 0;
	if (do_count && kind == CONN_V4) {
		struct flow_key k = { .saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr), .daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr), .dport = dport };
		u64 one = 1, *c = bpf_map_lookup_elem(&counts, &k);
		if (c)
			__sync_fetch_and_add(c, 1);
		else
			bpf_map_update_elem(&counts, &k, &one, BPF_ANY);
		return 0;
	}
	struct conn_event *e = bpf_ringbuf_reserve(&conns, sizeof(*e), 0);
	if (!e)
		return 0;
	e->kind = kind;
	e->af = kind == CONN_V4 ? AF_INET : AF_INET6;
	if (kind == CONN_V4) {
		e->saddr_v4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		e->daddr_v4 = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&e->saddr_v6, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
		BPF_CORE_READ_INTO(&e->daddr_v6, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
	}
	e->dport = dport;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = bpf_get_current_uid_gid();
	e->ts_us = bpf_ktime_get_ns() / 1000;
	bpf_get_current_comm(e->task, sizeof(e->task));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(tcp_v4_connect, struct sock *sk) { return enter(sk); }

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(tcp_v4_connect_ret, int ret) { return leave(ret, CONN_V4); }

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(tcp_v6_connect, struct sock *sk) { return enter(sk); }

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(tcp_v6_connect_ret, int ret) { return leave(ret, CONN_V6); }

char LICENSE[] SEC("license") = "GPL";
