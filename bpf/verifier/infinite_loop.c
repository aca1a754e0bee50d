// verifier catalogue: infinite-loop. A loop whose state never changes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int infinite_loop(struct xdp_md *ctx)
{
	asm volatile("r0 = 0; l_%=: if r0 == 0 goto l_%=;" ::: "r0"); // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
