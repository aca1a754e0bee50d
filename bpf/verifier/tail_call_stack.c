// verifier catalogue: tail-call-stack. A subprogram tail-calls while its callers hold more than
// 256 bytes of stack.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

static __attribute__((noinline)) int jump(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jumps, 0); // REJECTED
	return 0;
}

SEC("xdp")
int tail_call_stack(struct xdp_md *ctx)
{
	volatile char buf[300];
	for (int i = 0; i < 300; i += 50)
		buf[i] = i;
	return jump(ctx) + buf[ctx->ingress_ifindex & 255];
}

char LICENSE[] SEC("license") = "GPL";
