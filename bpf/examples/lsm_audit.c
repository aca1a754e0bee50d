// examples/lsm-audit: an LSM hook on file_open that counts opens (a first step of auditing
// opens under a path). Where the machine refuses LSM programs, the example says so and exits 0.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 opens = 0;

SEC("lsm/file_open")
int audit_open(unsigned long long *ctx)
{
	__sync_fetch_and_add(&opens, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
