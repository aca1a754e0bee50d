// An XDP program using bpf_loop callbacks and tail calls through a prog array that is
// initialised in the ELF (`values`), plus bpf_for_each_map_elem.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} stats SEC(".maps");

int xdp_stage1(struct xdp_md *ctx);
int xdp_stage2(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = {
		[1] = (void *)&xdp_stage1,
		[2] = (void *)&xdp_stage2,
	},
};

struct loop_ctx {
	__u64 sum;
};

static long add_index(__u32 index, void *data)
{
	struct loop_ctx *c = data;
	c->sum += index;
	return 0;
}

static long sum_stats(void *map, __u32 *key, __u64 *value, void *data)
{
	__u64 *acc = data;
	*acc += *value;
	return 0;
}

static __always_inline void bump(__u32 slot, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(&stats, &slot);
	if (p)
		*p += v;
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	struct loop_ctx c = { 0 };
	bpf_loop(10, add_index, &c, 0); // sum 0..9 = 45
	bump(0, c.sum);
	bpf_tail_call(ctx, &jump_table, 1);
	return XDP_ABORTED; // only reached when the tail call fails
}

SEC("xdp")
int xdp_stage1(struct xdp_md *ctx)
{
	bump(1, 1);
	bpf_tail_call(ctx, &jump_table, 2);
	return XDP_DROP;
}

SEC("xdp")
int xdp_stage2(struct xdp_md *ctx)
{
	__u64 total = 0;
	bump(2, 1);
	bpf_for_each_map_elem(&stats, sum_stats, &total, 0);
	bump(3, total);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
