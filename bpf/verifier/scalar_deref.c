// verifier catalogue: scalar-as-pointer. A number (here a random value) is dereferenced.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int scalar_deref(struct xdp_md *ctx)
{
	__u64 addr = bpf_get_prandom_u32();
	return *(__u32 *)addr; // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
