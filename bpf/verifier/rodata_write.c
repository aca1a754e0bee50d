// verifier catalogue: readonly-map-write. A const (.rodata) global is written by casting the const away.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 threshold = 10;

SEC("xdp")
int rodata_write(struct xdp_md *ctx)
{
	*(volatile __u32 *)&threshold = 20; // REJECTED
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
