// tsbpf-build: -D__TARGET_ARCH_x86
// USDT test program: reads the three arguments of tsbpf:tick (test/fixtures/link/probe-target.c)
// with libbpf's usdt.bpf.h, and the cookie given at attach, into an array map.
#include <linux/bpf.h>
#include <stdbool.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __s64);
} usdt_out SEC(".maps");

static void put(__u32 k, __s64 v)
{
	bpf_map_update_elem(&usdt_out, &k, &v, BPF_ANY);
}

SEC("usdt")
int BPF_USDT(tick, int i, long sum, long triple)
{
	put(0, i);
	put(1, sum);
	put(2, triple);
	put(3, bpf_usdt_arg_cnt(ctx));
	put(4, bpf_usdt_cookie(ctx));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
