// verifier catalogue: ctx-write. XDP's context fields are read-only.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ctx_write(struct xdp_md *ctx)
{
	ctx->data = ctx->data_end; // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
