// verifier catalogue: kfunc-not-allowed. A kfunc of the tracing set called from a socket filter.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_struct;
extern struct task_struct *bpf_task_from_pid(int pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

SEC("socket")
int kfunc_not_allowed(struct __sk_buff *skb)
{
	struct task_struct *t = bpf_task_from_pid(1); // REJECTED
	if (t)
		bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
