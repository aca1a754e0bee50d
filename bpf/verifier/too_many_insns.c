// verifier catalogue: program-too-large. A loop the verifier must walk a million times.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int too_many_insns(struct xdp_md *ctx)
{
	volatile __u32 sum = 0;
	for (__u32 i = 0; i < 1000000; i++) // REJECTED
		sum += i;
	return sum & 1;
}

char LICENSE[] SEC("license") = "GPL";
