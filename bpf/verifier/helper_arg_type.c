// verifier catalogue: helper-arg-type. A number is passed where a helper wants a pointer to a key.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int helper_arg_type(struct xdp_md *ctx)
{
	__u64 *v = bpf_map_lookup_elem(&counts, (void *)(long)ctx->ingress_ifindex); // REJECTED
	return v ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
