// verifier catalogue: map-value-bounds. A constant offset reads past the end of the map value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32[4]);
} table SEC(".maps");

SEC("xdp")
int map_value_bounds(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u32 *v = bpf_map_lookup_elem(&table, &key);
	if (!v)
		return XDP_PASS;
	return v[4]; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
