// sockops + sk_msg test program: sockops puts established IPv4 TCP sockets whose local or
// remote port is `port` into a sockhash keyed by local port; sk_msg redirects every message
// sent on such a socket to the ingress of the socket itself (so the sender reads back what it
// wrote and the peer gets nothing): the redirect is unambiguous.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static void bump(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &k);
	if (c)
		__sync_fetch_and_add(c, 1);
}

SEC("sockops")
int track(struct bpf_sock_ops *skops)
{
	__u32 local = skops->local_port;
	__u32 remote = bpf_ntohl(skops->remote_port);

	if (skops->family != 2 /* AF_INET */ || (local != port && remote != port))
		return 1;
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		bpf_sock_hash_update(skops, &socks, &local, BPF_NOEXIST);
		bump(0);
	}
	return 1;
}

SEC("sk_msg")
int echo(struct sk_msg_md *msg)
{
	__u32 local = msg->local_port;

	bump(1);
	return bpf_msg_redirect_hash(msg, &socks, &local, BPF_F_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
