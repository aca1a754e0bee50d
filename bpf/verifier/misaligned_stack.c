// verifier catalogue: misaligned-access. An 8-byte stack slot written at an odd offset.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int misaligned_stack(struct xdp_md *ctx)
{
	asm volatile("r2 = 1; *(u64 *)(r10 - 13) = r2;" ::: "r2"); // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
