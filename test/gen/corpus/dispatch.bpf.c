// Tail calls: an XDP dispatcher jumping through a prog array initialised in C with its
// handlers (libbpf's `.values`), and a second prog array filled at run time.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} hits SEC(".maps");

static __always_inline void hit(u32 i)
{
	u64 *v = bpf_map_lookup_elem(&hits, &i);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int handle_ipv4(struct xdp_md *ctx)
{
	hit(1);
	return XDP_PASS;
}

SEC("xdp")
int handle_ipv6(struct xdp_md *ctx)
{
	hit(2);
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, int(void *));
} handlers SEC(".maps") = {
	.values = { [0] = (void *)&handle_ipv4, [1] = (void *)&handle_ipv6 },
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} plugins SEC(".maps");

SEC("xdp")
int dispatcher(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	hit(0);
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	bpf_tail_call(ctx, &plugins, 0);
	bpf_tail_call(ctx, &handlers, eth->h_proto == __builtin_bswap16(0x86DD) ? 1 : 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
