// examples/sockmap-accel: sockops puts every established IPv4 TCP socket of the example's cgroup
// into a sockhash keyed by its 4-tuple; sk_msg, run on each send, looks up the peer (the
// reversed 4-tuple) and redirects the message straight into the peer's receive queue, skipping
// the TCP/IP stack on loopback. `stats` counts sockets inserted, messages and bytes redirected.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct sock_key {
	__u32 sip;
	__u32 dip;
	__u32 sport;
	__u32 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 1024);
	__type(key, struct sock_key);
	__type(value, __u32);
} socks SEC(".maps");

enum { STAT_SOCKETS, STAT_MSGS, STAT_BYTES, STAT_MISSED, STAT_COUNT };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static void add(__u32 k, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &k);
	if (c)
		__sync_fetch_and_add(c, n);
}

SEC("sockops")
int sockops_insert(struct bpf_sock_ops *skops)
{
	if (skops->family != 2 /* AF_INET */)
		return 1;
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	/* Both ports as host-order numbers: local_port already is, remote_port is big-endian. */
	struct sock_key key = {
		.sip = skops->local_ip4,
		.dip = skops->remote_ip4,
		.sport = skops->local_port,
		.dport = bpf_ntohl(skops->remote_port),
	};
	if (bpf_sock_hash_update(skops, &socks, &key, BPF_NOEXIST) == 0)
		add(STAT_SOCKETS, 1);
	return 1;
}

SEC("sk_msg")
int sk_msg_redirect(struct sk_msg_md *msg)
{
	/* The peer's key is this socket's 4-tuple reversed. */
	struct sock_key peer = {
		.sip = msg->remote_ip4,
		.dip = msg->local_ip4,
		.sport = bpf_ntohl(msg->remote_port),
		.dport = msg->local_port,
	};
	__u32 size = msg->size;

	if (bpf_msg_redirect_hash(msg, &socks, &peer, BPF_F_INGRESS) == SK_PASS) {
		add(STAT_MSGS, 1);
		add(STAT_BYTES, size);
	} else {
		add(STAT_MISSED, 1); /* peer not in the map (not local, or not yet established): plain TCP */
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
