// verifier catalogue: too-complex. Each iteration branches on a random value, so the states to
// explore double and the verifier gives up on the jump sequence.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int too_complex(struct xdp_md *ctx)
{
	volatile __u32 sum = 0;
	for (__u32 i = 0; i < 100000; i++) {
		if (bpf_get_prandom_u32() & 1) // REJECTED
			sum += i;
	}
	return sum & 1;
}

char LICENSE[] SEC("license") = "GPL";
