// verifier catalogue: unreachable-instruction. Code after an exit that no jump reaches.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int unreachable_insn(struct xdp_md *ctx)
{
	asm volatile("r0 = 2; exit; r0 = 1; exit;"); // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
