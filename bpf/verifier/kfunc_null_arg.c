// verifier catalogue: kfunc-null-argument. A possibly-NULL task goes to bpf_task_release.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_struct;
extern struct task_struct *bpf_task_from_pid(int pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

SEC("tp_btf/task_newtask")
int kfunc_null_arg(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(1);
	bpf_task_release(t); // REJECTED
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
