// verifier catalogue: packet-bounds. A packet byte is read with no check against data_end.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int packet_bounds(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[20]; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
