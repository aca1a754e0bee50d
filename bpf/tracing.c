// BTF-based program kinds whose attach target the loader resolves in the kernel's BTF:
// tp_btf (btf_trace_<name>), iter (bpf_iter_<name>), fentry (the function itself). fentry is
// refused with EPERM on the project's machines (sandbox policy), so it is not loaded by default.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 exec_count = 0;
__u64 iter_calls = 0;

SEC("tp_btf/sched_process_exec")
int on_exec(unsigned long long *ctx)
{
	__sync_fetch_and_add(&exec_count, 1);
	return 0;
}

SEC("iter/task")
int dump_task(void *ctx)
{
	__sync_fetch_and_add(&iter_calls, 1);
	return 0;
}

SEC("?fentry/do_unlinkat")
int on_unlink(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
