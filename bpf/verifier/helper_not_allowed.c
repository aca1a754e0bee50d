// verifier catalogue: helper-not-allowed. bpf_skb_load_bytes belongs to skb programs, not XDP.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int helper_not_allowed(struct xdp_md *ctx)
{
	__u32 word = 0;
	bpf_skb_load_bytes(ctx, 0, &word, sizeof(word)); // REJECTED
	return word & 1;
}

char LICENSE[] SEC("license") = "GPL";
