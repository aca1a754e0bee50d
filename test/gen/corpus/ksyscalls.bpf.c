// Syscall counts (syscount style): raw_syscalls tracepoints with the start time per thread,
// per-syscall totals in a per-CPU hash of a struct value, an optional program (`?` section),
// a uprobe on a symbol the caller names, and a global function (a BPF-to-BPF call kept apart).
#include "common.h"

struct sys_data {
	u64 count;
	u64 total_ns;
	u64 max_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct sys_data);
} data SEC(".maps");

const volatile bool measure_latency = true;
const volatile pid_t filter_pid = 0;
const volatile int filter_errno = 0;

__noinline int account(u32 nr, u64 delta)
{
	struct sys_data *d = bpf_map_lookup_elem(&data, &nr);
	if (!d) {
		struct sys_data init = { 1, delta, delta };
		bpf_map_update_elem(&data, &nr, &init, BPF_NOEXIST);
		return 0;
	}
	d->count++;
	d->total_ns += delta;
	if (delta > d->max_ns)
		d->max_ns = delta;
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	if (filter_pid && filter_pid != (pid_t)(id >> 32))
		return 0;
	u32 tid = id;
	u64 ts = bpf_ktime_get_ns();
	if (measure_latency)
		bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	if (filter_errno && ctx->ret != -filter_errno)
		return 0;
	u64 delta = 0;
	u64 *st = bpf_map_lookup_elem(&starts, &tid);
	if (st) {
		delta = bpf_ktime_get_ns() - *st;
		bpf_map_delete_elem(&starts, &tid);
	}
	return account(ctx->id, delta);
}

SEC("?raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(user_fn)
{
	return account(0xffff, 0);
}

char LICENSE[] SEC("license") = "GPL";
