// A program named "kconfig" beside the ".kconfig" map its extern creates (cilium/ebpf's kconfig
// test object has both): their pin names must not collide.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int CONFIG_HZ __kconfig;

__u64 seen_hz = 0;

SEC("xdp")
int kconfig(struct xdp_md *ctx)
{
	seen_hz = CONFIG_HZ;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
