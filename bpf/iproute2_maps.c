// iproute2's legacy map layout (struct bpf_elf_map, as `tc` objects declare maps) with a map
// pinned in the global namespace (PIN_GLOBAL_NS → pinned by name). libbpf 1.0+ refuses
// `maps` sections by design; tsbpf reads them as cilium/ebpf does.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PIN_NONE 0
#define PIN_GLOBAL_NS 2

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

struct bpf_elf_map SEC("maps") tc_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 4,
	.pinning = PIN_NONE,
};

struct bpf_elf_map SEC("maps") tc_shared = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 8,
	.pinning = PIN_GLOBAL_NS,
};

SEC("classifier")
int tc_count(struct __sk_buff *skb)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&tc_counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	__u32 k = skb->len, one = 1;
	bpf_map_update_elem(&tc_shared, &k, &one, BPF_ANY);
	return 0; // TC_ACT_OK
}

char LICENSE[] SEC("license") = "GPL";
