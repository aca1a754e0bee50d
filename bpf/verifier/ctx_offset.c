// verifier catalogue: ctx-bad-offset. Reading past the fields of struct xdp_md.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ctx_offset(struct xdp_md *ctx)
{
	return ((volatile __u32 *)ctx)[24]; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
