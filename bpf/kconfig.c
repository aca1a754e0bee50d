// .kconfig externs: values from the running kernel's config, LINUX_KERNEL_VERSION,
// LINUX_HAS_BPF_COOKIE, and a weak extern that this kernel does not define.
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;
extern int CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_TSBPF_DOES_NOT_EXIST __kconfig __weak;

__u64 seen_version = 0;
__u64 seen_hz = 0;
__u64 seen_flags = 0;

SEC("xdp")
int read_kconfig(struct xdp_md *ctx)
{
	seen_version = LINUX_KERNEL_VERSION;
	seen_hz = CONFIG_HZ;
	seen_flags = (CONFIG_BPF_SYSCALL ? 1 : 0) | (LINUX_HAS_BPF_COOKIE ? 2 : 0) |
		     (CONFIG_TSBPF_DOES_NOT_EXIST == 0 ? 4 : 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
