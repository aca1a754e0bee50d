// verifier catalogue: null-map-value. bpf_map_lookup_elem's result is used without a NULL check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int null_map_value(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	*v += 1; // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
