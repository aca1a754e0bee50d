// Run queue latency (runqlat style): tp_btf scheduler events, a per-task timestamp in task
// storage, one histogram per pid namespace level chosen by an enum constant, a .bss total.
#include "common.h"

enum hist_unit { UNIT_USEC = 0, UNIT_MSEC = 1 };
enum group_by { GROUP_NONE, GROUP_PID, GROUP_TGID };

struct rq_hist {
	u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
	enum hist_unit unit;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} enqueued_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct rq_hist);
} rq_hists SEC(".maps");

const volatile enum hist_unit unit = UNIT_USEC;
const volatile enum group_by group = GROUP_NONE;
const volatile pid_t targ_tgid = 0;

u64 total_events = 0;
static struct rq_hist zero_rq_hist;

static __always_inline int mark(struct task_struct *p)
{
	if (targ_tgid && BPF_CORE_READ(p, tgid) != targ_tgid)
		return 0;
	u64 *ts = bpf_task_storage_get(&enqueued_at, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return mark(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return mark(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (BPF_CORE_READ(prev, __state) == 0)
		mark(prev);
	u64 *ts = bpf_task_storage_get(&enqueued_at, next, 0, 0);
	if (!ts || !*ts)
		return 0;
	u64 delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	u32 key = group == GROUP_PID ? BPF_CORE_READ(next, pid) : group == GROUP_TGID ? BPF_CORE_READ(next, tgid) : 0;
	struct rq_hist *h = bpf_map_lookup_elem(&rq_hists, &key);
	if (!h) {
		bpf_map_update_elem(&rq_hists, &key, &zero_rq_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&rq_hists, &key);
		if (!h)
			return 0;
		bpf_probe_read_kernel_str(&h->comm, sizeof(h->comm), next->comm);
		h->unit = unit;
	}
	delta /= unit == UNIT_MSEC ? 1000000U : 1000U;
	u64 slot = log2l(delta);
	if (slot < MAX_SLOTS)
		__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&total_events, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
