// verifier catalogue: modified-ctx-pointer. The ctx pointer is moved, then dereferenced.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int modified_ctx(struct xdp_md *ctx)
{
	asm volatile("r1 += 4; r0 = *(u32 *)(r1 + 0);" ::: "r0", "r1"); // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
