// verifier catalogue: packet-variable-offset. A packet pointer is moved by an unbounded amount.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int packet_var_offset(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	long off = (long)bpf_get_prandom_u32() << 32;
	unsigned char *p = data + off; // REJECTED
	if (p + 1 > end)
		return XDP_PASS;
	return *p;
}

char LICENSE[] SEC("license") = "GPL";
