// verifier catalogue: missing-return-value. The program exits without setting R0.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int no_return_value(struct xdp_md *ctx)
{
	asm volatile("exit;"); // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
