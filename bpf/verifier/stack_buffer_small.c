// verifier catalogue: helper-buffer-size. The key buffer on the stack is smaller than the map's key.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct key16 {
	__u64 a, b;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, struct key16);
	__type(value, __u64);
} counts SEC(".maps");

SEC("xdp")
int stack_buffer_small(struct xdp_md *ctx)
{
	__u64 small = 1;
	__u64 *v = bpf_map_lookup_elem(&counts, &small); // REJECTED
	return v ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
