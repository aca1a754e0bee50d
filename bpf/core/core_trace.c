// CO-RE in tracing programs: a tp_btf program on raw_syscalls:sys_enter reading the kernel's
// struct pt_regs, and a task iterator reading struct bpf_iter__task and task_struct.
#include "core_common.h"

char LICENSE[] SEC("license") = "GPL";

struct pt_regs {
	unsigned long di;
	unsigned long orig_ax;
} __pai;

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __pai;
struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __pai;

const volatile int target_tgid = 0;
const volatile long target_syscall = 0;

struct tp_results {
	__u64 hits, orig_ax, di, pid;
} tp_results;

/* btf_trace_sys_enter(void *, struct pt_regs *regs, long id): ctx[0] is regs, ctx[1] the id. */
SEC("tp_btf/sys_enter")
int on_sys_enter(__u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long id = (long)ctx[1];
	struct task_struct *t = bpf_get_current_task_btf();

	if (t->tgid != target_tgid || id != target_syscall)
		return 0;
	tp_results.hits++;
	tp_results.orig_ax = regs->orig_ax; /* verifier-checked loads at the kernel's offsets */
	tp_results.di = regs->di;
	tp_results.pid = t->pid;
	return 0;
}

struct task_record {
	__u32 pid, tgid;
	char comm[16];
};

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct task_record rec = {};

	if (!t)
		return 0;
	rec.pid = t->pid;
	rec.tgid = t->tgid;
	bpf_probe_read_kernel_str(rec.comm, sizeof(rec.comm), t->comm);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
