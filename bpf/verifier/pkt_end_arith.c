// verifier catalogue: forbidden-pointer-arithmetic. Arithmetic on data_end (pkt_end) is refused.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_end_arith(struct xdp_md *ctx)
{
	asm volatile("r2 = *(u32 *)(r1 + 4); r2 += -1;" ::: "r2"); // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
