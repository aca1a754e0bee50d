// A program with a few thousand instructions, so `tsbpf disasm` prints more than 64 KiB and
// the slow-pipe test can check that all of it arrives.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 acc[64] = {};

SEC("xdp")
int big_listing(struct xdp_md *ctx)
{
#pragma clang loop unroll(full)
	for (int i = 0; i < 3000; i++)
		__sync_fetch_and_add(&acc[i & 63], i + 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
