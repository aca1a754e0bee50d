// examples/runqlat: scheduler run-queue latency, as bcc's runqlat. A task's wakeup (or its
// preemption while still runnable) stamps the time; when sched_switch puts it on a CPU the
// wait goes into a log2 histogram of microseconds. Three copies of the same logic, one per
// way of reaching the scheduler tracepoints, all "?" (not autoloaded): the TypeScript side
// loads tp_btf, else raw_tp, else the classic tracepoints, whichever the machine allows.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define TASK_RUNNING 0
#define MAX_SLOTS 32

/* Only the members read here; CO-RE finds them in the running kernel's task_struct. */
struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

struct hist_key {
	__u32 id; /* tgid with per_process (thread id under classic tracepoints), else 0 */
	__u32 slot;
};

const volatile __u32 target_tgid = 0;
const volatile __u32 per_process = 0;
/* Names struct hist_key in the BTF for `tsbpf gen`. */
const volatile struct hist_key hist_key_layout = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	for (int i = 0; i < 63 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

static __always_inline void enqueue(__u32 tgid, __u32 pid)
{
	if (!pid || (target_tgid && tgid != target_tgid))
		return;
	__u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
}

static __always_inline void switched(__u32 prev_tgid, __u32 prev_pid, long prev_state, __u32 next_tgid, __u32 next_pid)
{
	if (prev_state == TASK_RUNNING)
		enqueue(prev_tgid, prev_pid);
	__u64 *tsp = bpf_map_lookup_elem(&start, &next_pid);
	if (!tsp)
		return;
	__u64 delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&start, &next_pid);
	struct hist_key key = { .id = per_process ? next_tgid : 0, .slot = log2_u64(delta_us) };
	if (key.slot >= MAX_SLOTS)
		key.slot = MAX_SLOTS - 1;
	__u64 one = 1, *count = bpf_map_lookup_elem(&hists, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&hists, &key, &one, BPF_NOEXIST);
}

/* tp_btf: typed arguments, the task read directly. */
SEC("?tp_btf/sched_wakeup")
int btf_wakeup(__u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	enqueue(p->tgid, p->pid);
	return 0;
}

SEC("?tp_btf/sched_wakeup_new")
int btf_wakeup_new(__u64 *ctx)
{
	struct task_struct *p = (void *)ctx[0];
	enqueue(p->tgid, p->pid);
	return 0;
}

/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state) */
SEC("?tp_btf/sched_switch")
int btf_switch(__u64 *ctx)
{
	struct task_struct *prev = (void *)ctx[1], *next = (void *)ctx[2];
	switched(prev->tgid, prev->pid, (long)(__u32)ctx[3], next->tgid, next->pid);
	return 0;
}

/* raw_tp: the same arguments, untyped; the task is read with bpf_probe_read_kernel (CO-RE). */
SEC("?raw_tp/sched_wakeup")
int raw_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *p = (void *)ctx->args[0];
	enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
	return 0;
}

SEC("?raw_tp/sched_wakeup_new")
int raw_wakeup_new(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *p = (void *)ctx->args[0];
	enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
	return 0;
}

SEC("?raw_tp/sched_switch")
int raw_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (void *)ctx->args[1], *next = (void *)ctx->args[2];
	switched(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid), (long)(__u32)ctx->args[3],
		 BPF_CORE_READ(next, tgid), BPF_CORE_READ(next, pid));
	return 0;
}

/* Classic tracepoints: the record's layout (events/sched/<name>/format); only thread ids. */
struct wakeup_args {
	__u64 common;
	char comm[16];
	int pid;
	int prio;
	int target_cpu;
};

struct switch_args {
	__u64 common;
	char prev_comm[16];
	int prev_pid;
	int prev_prio;
	long prev_state;
	char next_comm[16];
	int next_pid;
	int next_prio;
};

SEC("?tracepoint/sched/sched_wakeup")
int tp_wakeup(struct wakeup_args *args)
{
	enqueue(args->pid, args->pid);
	return 0;
}

SEC("?tracepoint/sched/sched_wakeup_new")
int tp_wakeup_new(struct wakeup_args *args)
{
	enqueue(args->pid, args->pid);
	return 0;
}

SEC("?tracepoint/sched/sched_switch")
int tp_switch(struct switch_args *args)
{
	switched(args->prev_pid, args->prev_pid, args->prev_state, args->next_pid, args->next_pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
