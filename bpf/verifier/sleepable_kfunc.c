// verifier catalogue: sleepable-only. A kfunc that may sleep, called from a non-sleepable tracepoint.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz, const void *unsafe_ptr__ign, __u64 flags) __ksym;

SEC("tracepoint/syscalls/sys_enter_getpid")
int sleepable_kfunc(void *ctx)
{
	char buf[16];
	return bpf_copy_from_user_str(buf, sizeof(buf), (void *)0x1000, 0); // REJECTED
}

char LICENSE[] SEC("license") = "GPL";
