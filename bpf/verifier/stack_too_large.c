// verifier catalogue: stack-too-large. A function and the subprogram it calls use more than
// 512 bytes of stack together.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int fill(struct xdp_md *ctx)
{
	char big[320];
	__builtin_memset(big, 1, sizeof(big));
	return bpf_xdp_load_bytes(ctx, 0, big, sizeof(big));
}

SEC("xdp")
int stack_too_large(struct xdp_md *ctx)
{
	char buf[320];
	__builtin_memset(buf, 2, sizeof(buf));
	bpf_xdp_load_bytes(ctx, 0, buf, sizeof(buf));
	return fill(ctx) + buf[ctx->ingress_ifindex & 255]; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
