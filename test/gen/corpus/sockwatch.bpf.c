// Sockets (sockfilter / sockops style): a socket filter counting into a queue and a bloom
// filter, sockops storing per-socket state in sk_storage (a struct with bitfields), and an
// sk_msg program redirecting through a sockhash keyed by a 4-tuple.
#include "common.h"

struct sock_state {
	u64 bytes;
	u32 established : 1;
	u32 retransmits : 7;
	u32 state : 8;
	u32 reserved : 16;
	s16 rtt_ms;
};

struct tuple {
	u32 sip;
	u32 dip;
	u32 sport;
	u32 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_state);
} states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 128);
	__type(key, struct tuple);
	__type(value, u64);
} peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 64);
	__type(value, struct tuple);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 256);
	__type(value, u32);
	__uint(map_extra, 3);
} seen_ports SEC(".maps");

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	u32 port = skb->remote_port;
	if (bpf_map_peek_elem(&seen_ports, &port) != 0)
		bpf_map_push_elem(&seen_ports, &port, 0);
	return skb->len;
}

SEC("sockops")
int sock_ops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	if (!sk)
		return 1;
	struct sock_state *st = bpf_sk_storage_get(&states, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 1;
	if (ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB || ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		st->established = 1;
		struct tuple t = { ops->local_ip4, ops->remote_ip4, ops->local_port, bpf_ntohl(ops->remote_port) };
		bpf_sock_hash_update(ops, &peers, &t, BPF_NOEXIST);
		bpf_map_push_elem(&recent, &t, BPF_EXIST);
	}
	st->rtt_ms = ops->srtt_us / 8000;
	return 1;
}

SEC("sk_msg")
int redirect(struct sk_msg_md *msg)
{
	struct tuple t = { msg->remote_ip4, msg->local_ip4, bpf_ntohl(msg->remote_port), msg->local_port };
	return bpf_msg_redirect_hash(msg, &peers, &t, BPF_F_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
