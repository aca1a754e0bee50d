// verifier catalogue: socket-leak. A socket from bpf_sk_lookup_tcp is never released.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int socket_leak(struct __sk_buff *skb)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), -1, 0); // REJECTED
	if (sk)
		return sk->state;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
