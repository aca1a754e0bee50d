// Legacy map definitions in the `maps` section (struct bpf_map_def), as older tools wrote them.
// libbpf 1.0+ refuses them by design; cilium/ebpf and tsbpf load them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 2,
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&legacy_counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	__u32 k2 = skb->len, one = 1;
	bpf_map_update_elem(&legacy_hash, &k2, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
