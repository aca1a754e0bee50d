// docs/bench.md, version 1: drop IPv4 frames whose source is on the blocklist, by a linear
// scan of all 128 entries.
#include "blocklist.h"

SEC("xdp")
int filter(struct xdp_md *ctx)
{
	__u32 src = ipv4_source(ctx);

	if (src == 0)
		return XDP_PASS;
#pragma clang loop unroll(disable)
	for (int i = 0; i < BLOCKLIST_LEN; i++) {
		if (blocklist[i] == src)
			return XDP_DROP;
	}
	return XDP_PASS;
}
