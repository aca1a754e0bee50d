// verifier catalogue: kptr-leak. A task acquired with bpf_task_from_pid is never released.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_struct;
extern struct task_struct *bpf_task_from_pid(int pid) __ksym;

SEC("tp_btf/task_newtask")
int task_leak(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(1); // REJECTED
	return t ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
