// verifier catalogue: unbounded-index. An index from the packet selects a map value element
// with no upper bound check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32[16]);
} table SEC(".maps");

SEC("xdp")
int unbounded_index(struct xdp_md *ctx)
{
	__u32 key = 0, i = bpf_get_prandom_u32();
	__u32 *v = bpf_map_lookup_elem(&table, &key);
	if (!v)
		return XDP_PASS;
	return v[i]; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
