// bpf2bpf calls: static and global subprograms in .text, shared by two programs, nested.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} results SEC(".maps");

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

static __noinline __u64 sum_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

__noinline int global_add(int a, int b)
{
	return a + b;
}

static __noinline void store(__u32 slot, __u64 v)
{
	bpf_map_update_elem(&results, &slot, &v, BPF_ANY);
}

SEC("xdp")
int calc_xdp(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	store(0, sum_squares(len, 2));
	store(1, global_add((int)len, 10));
	return XDP_PASS;
}

SEC("socket")
int calc_socket(struct __sk_buff *skb)
{
	store(2, square(skb->len));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
