// docs/bench.md, version 2: the same verdicts as version 1, by a binary search of the sorted
// blocklist (8 steps instead of 128).
#include "blocklist.h"

SEC("xdp")
int filter(struct xdp_md *ctx)
{
	__u32 src = ipv4_source(ctx);
	__u32 lo = 0, hi = BLOCKLIST_LEN;

	if (src == 0)
		return XDP_PASS;
#pragma clang loop unroll(disable)
	for (int step = 0; step < 8 && lo < hi; step++) {
		__u32 mid = (lo + hi) / 2;
		__u32 v = blocklist[mid & (BLOCKLIST_LEN - 1)];

		if (v == src)
			return XDP_DROP;
		if (v < src)
			lo = mid + 1;
		else
			hi = mid;
	}
	return XDP_PASS;
}
