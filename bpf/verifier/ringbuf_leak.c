// verifier catalogue: ringbuf-leak. A reservation is neither submitted nor discarded on one path.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int ringbuf_leak(struct xdp_md *ctx)
{
	__u64 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0); // REJECTED
	if (!e)
		return XDP_PASS;
	*e = 1;
	if (ctx->ingress_ifindex == 1)
		return XDP_DROP;
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
