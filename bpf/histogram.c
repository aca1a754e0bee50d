// A log2 histogram of packet sizes kept in a hash map, as runqlat/biolatency keep theirs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct hist_key {
	__u32 bucket;
	__u32 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct hist_key);
	__type(value, __u64);
} hist SEC(".maps");

static __always_inline __u32 log2u(__u32 v)
{
	__u32 r = 0;
	for (int i = 0; i < 32 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("xdp")
int size_histogram(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	struct hist_key key = { .bucket = log2u(len), .proto = 0 };
	__u64 *v = bpf_map_lookup_elem(&hist, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
	} else {
		__u64 one = 1;
		bpf_map_update_elem(&hist, &key, &one, BPF_NOEXIST);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
