// A large object for the ELF benchmarks: 50 programs and 20 maps (BTF-defined).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAP(n) struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); \
	__type(key, __u32); __type(value, __u64); } map_##n SEC(".maps");
MAP(0) MAP(1) MAP(2) MAP(3) MAP(4) MAP(5) MAP(6) MAP(7) MAP(8) MAP(9)
MAP(10) MAP(11) MAP(12) MAP(13) MAP(14) MAP(15) MAP(16) MAP(17) MAP(18) MAP(19)

static __noinline __u64 helper(__u64 x) { return x * 3 + 1; }

#define PROG(n, m) SEC("xdp") int prog_##n(struct xdp_md *ctx) { \
	__u32 k = ctx->data_end - ctx->data; __u64 *v = bpf_map_lookup_elem(&map_##m, &k); \
	if (v) *v += helper(k); else { __u64 one = 1; bpf_map_update_elem(&map_##m, &k, &one, BPF_ANY); } \
	return XDP_PASS; }
PROG(0,0) PROG(1,1) PROG(2,2) PROG(3,3) PROG(4,4) PROG(5,5) PROG(6,6) PROG(7,7) PROG(8,8) PROG(9,9)
PROG(10,10) PROG(11,11) PROG(12,12) PROG(13,13) PROG(14,14) PROG(15,15) PROG(16,16) PROG(17,17) PROG(18,18) PROG(19,19)
PROG(20,0) PROG(21,1) PROG(22,2) PROG(23,3) PROG(24,4) PROG(25,5) PROG(26,6) PROG(27,7) PROG(28,8) PROG(29,9)
PROG(30,10) PROG(31,11) PROG(32,12) PROG(33,13) PROG(34,14) PROG(35,15) PROG(36,16) PROG(37,17) PROG(38,18) PROG(39,19)
PROG(40,0) PROG(41,1) PROG(42,2) PROG(43,3) PROG(44,4) PROG(45,5) PROG(46,6) PROG(47,7) PROG(48,8) PROG(49,9)

char LICENSE[] SEC("license") = "GPL";
