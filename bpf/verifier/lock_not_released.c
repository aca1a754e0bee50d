// verifier catalogue: lock-not-released. One path returns while the bpf_spin_lock is held.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct val {
	struct bpf_spin_lock lock;
	__u64 n;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct val);
} locked SEC(".maps");

SEC("tc")
int lock_not_released(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&locked, &key);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	if (skb->len > 100) // REJECTED: this path returns with the lock held
		return 1;
	v->n++;
	bpf_spin_unlock(&v->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
