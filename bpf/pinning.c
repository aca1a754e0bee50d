// LIBBPF_PIN_BY_NAME maps, map_flags, numa_node, a program that is not loaded by default (`?`),
// and a version section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__uint(key_size, 8);
	__uint(value_size, 16);
	__uint(numa_node, 0);
} sized_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("socket")
int use_maps(struct __sk_buff *skb)
{
	__u32 k = skb->len, v = 1;
	bpf_map_update_elem(&pinned_hash, &k, &v, BPF_ANY);
	__u64 lk = k;
	char val[16] = {};
	bpf_map_update_elem(&sized_lru, &lk, val, BPF_ANY);
	__u32 *e = bpf_ringbuf_reserve(&events, sizeof(__u32), 0);
	if (e) {
		*e = k;
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

SEC("?socket")
int not_autoloaded(struct __sk_buff *skb)
{
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
__u32 _version SEC("version") = 0x060c00;
