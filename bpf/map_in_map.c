// Maps of maps: array_of_maps and hash_of_maps with inner map definitions and `values`.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer_array SEC(".maps") = {
	.values = { &inner_a, &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__type(key, __u32);
		__type(value, __u64);
		__uint(max_entries, 8);
	});
} outer_hash SEC(".maps");

SEC("xdp")
int read_inner(struct xdp_md *ctx)
{
	__u32 zero = 0, one = 1;
	void *inner = bpf_map_lookup_elem(&outer_array, &one);
	if (!inner)
		return XDP_ABORTED;
	__u32 *v = bpf_map_lookup_elem(inner, &zero);
	if (!v)
		return XDP_ABORTED;
	*v += 1;
	void *h = bpf_map_lookup_elem(&outer_hash, &zero);
	if (h) {
		__u64 init = 1;
		bpf_map_update_elem(h, &zero, &init, BPF_ANY);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
