// A kfunc beside a bpf_loop callback. The callback needs the object's BTF (func info), and the
// kfunc puts a .ksyms DATASEC into that BTF which the kernel refuses until the loader fixes it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// Declared as the kernel declares them (libbpf 1.1 refuses a forward-declared struct here).
struct task_struct {
	int pid;
} __attribute__((preserve_access_index));
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

char LICENSE[] SEC("license") = "GPL";

int target_pid = 0;
int found = 0;
__u32 iterations = 0;

static long step(__u32 index, void *ctx)
{
	iterations += 1;
	return 0;
}

SEC("syscall")
int find_task(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(target_pid);

	if (t) {
		found = 1;
		bpf_task_release(t);
	}
	bpf_loop(10, step, 0, 0);
	return 0;
}
