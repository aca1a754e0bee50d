// Programs whose pin names collided when leading underscores were stripped (bcc's biotop has
// __blk_account_io_start beside blk_account_io_start), and two whose names share the kernel's
// 15-byte prefix ("__blk_account_i"). `tsbpf load --pin` must pin all three apart.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

static __always_inline int count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&starts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

SEC("xdp")
int __blk_account_io_start(struct xdp_md *ctx)
{
	return count(0);
}

SEC("xdp")
int blk_account_io_start(struct xdp_md *ctx)
{
	return count(1);
}

SEC("xdp")
int __blk_account_io_done(struct xdp_md *ctx)
{
	return count(2);
}

char LICENSE[] SEC("license") = "GPL";
