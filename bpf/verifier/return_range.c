// verifier catalogue: return-value-range. cgroup_skb programs must return 0 or 1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup_skb/ingress")
int return_range(struct __sk_buff *skb)
{
	return 3; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
