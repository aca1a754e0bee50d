// kfuncs and __ksym externs, run by BPF_PROG_TEST_RUN as syscall programs.
#include "core_common.h"

char LICENSE[] SEC("license") = "GPL";

struct rq {
	int cpu;
} __pai;

extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
/* Weak, so bpf_ksym_exists() can test it: an existing kfunc in ld_imm64 is a BTF id. */
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
/* Missing on every kernel: allowed because it is weak, and only called when it exists. */
extern int bpf_kfunc_tsbpf_does_not_exist(int x) __ksym __weak;
/* A typed per-CPU kernel variable (by BTF) and an untyped kernel symbol (by /proc/kallsyms). */
extern const struct rq runqueues __ksym;
extern const void bpf_prog_put __ksym;
extern const int tsbpf_missing_variable __ksym __weak;

struct args {
	__s32 pid;
};

struct ksym_results {
	__u64 found, tgid, release_exists, weak_exists, weak_called, rq_cpu, prog_put_addr, missing_var_addr;
} ksym_results;

SEC("syscall")
int ksym_task(struct args *args)
{
	struct task_struct *t = bpf_task_from_pid(args->pid);
	struct ksym_results *r = &ksym_results;

	if (t) {
		r->found = 1;
		r->tgid = t->tgid;
		bpf_task_release(t);
	}
	r->release_exists = bpf_ksym_exists(bpf_task_release);
	r->weak_exists = bpf_ksym_exists(bpf_kfunc_tsbpf_does_not_exist);
	if (bpf_ksym_exists(bpf_kfunc_tsbpf_does_not_exist))
		r->weak_called = bpf_kfunc_tsbpf_does_not_exist(1);
	r->prog_put_addr = (__u64)&bpf_prog_put;
	r->missing_var_addr = (__u64)&tsbpf_missing_variable;
	return 0;
}

/* Not loaded by default: typed variable ksyms need the variable in kallsyms (CONFIG_KALLSYMS_ALL). */
SEC("?syscall")
int ksym_rq(void *ctx)
{
	struct rq *rq = bpf_per_cpu_ptr(&runqueues, 1);

	if (rq)
		ksym_results.rq_cpu = rq->cpu;
	return 0;
}

/* Not loaded by default: calls the missing weak kfunc without checking it exists. */
SEC("?syscall")
int ksym_unguarded(struct args *args)
{
	ksym_results.weak_called = bpf_kfunc_tsbpf_does_not_exist(2);
	return 0;
}
