// verifier catalogue: uninitialized-register. A register is read before anything was written to it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int uninit_register(struct xdp_md *ctx)
{
	asm volatile("r0 = r9;" ::: "r0"); // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
