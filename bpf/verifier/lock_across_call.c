// verifier catalogue: lock-across-call. A helper is called while a bpf_spin_lock is held.
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
int lock_across_call(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct val *v = bpf_map_lookup_elem(&locked, &key);
	if (!v)
		return 0;
	bpf_spin_lock(&v->lock);
	v->n += bpf_get_prandom_u32(); // REJECTED
	bpf_spin_unlock(&v->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
