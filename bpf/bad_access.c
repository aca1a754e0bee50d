// An XDP program the verifier refuses (a packet read without a bounds check) next to one it
// accepts: tsbpf load and libbpf must both fail on it, naming bad_read.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int good_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bad_read(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[100]; // no check against data_end
}

char LICENSE[] SEC("license") = "GPL";
