// verifier catalogue: gpl-only. bpf_probe_read_kernel is GPL-only and the license is not GPL.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_getpid")
int gpl_only(void *ctx)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), ctx); // REJECTED
	return v & 1;
}

char LICENSE[] SEC("license") = "Proprietary";
