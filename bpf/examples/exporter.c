// examples/exporter: raw_syscalls tracepoints count syscalls per syscall number into a hash map
// and time each one (enter → exit, per thread) into a log2 histogram of nanoseconds; the
// TypeScript side serves both as Prometheus metrics, read from the maps at every scrape.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define BUCKETS 64

struct sys_enter_args {
	__u64 common;
	long id;
	unsigned long args[6];
};

struct sys_exit_args {
	__u64 common;
	long id;
	long ret;
};

/* 0 traces every process; otherwise only this one (its threads included). */
const volatile __u32 target_tgid = 0;
/* Sum of all latencies in the histogram, in ns (Prometheus wants a _sum). */
__u64 latency_sum_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} syscall_counts SEC(".maps");

/* Bucket i counts latencies in [2^i, 2^(i+1)) ns. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} latency_log2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

static __always_inline int traced(__u64 pid_tgid)
{
	return !target_tgid || (__u32)(pid_tgid >> 32) == target_tgid;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	for (int i = 32; i > 0; i >>= 1) {
		if (v >> i) {
			v >>= i;
			r += i;
		}
	}
	return r;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int count_enter(struct sys_enter_args *args)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!traced(id))
		return 0;
	__u32 nr = args->id;
	__u64 one = 1, *c = bpf_map_lookup_elem(&syscall_counts, &nr);
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		bpf_map_update_elem(&syscall_counts, &nr, &one, BPF_NOEXIST);
	__u32 tid = id;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int time_exit(struct sys_exit_args *args)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!traced(id))
		return 0;
	__u32 tid = id;
	__u64 *t0 = bpf_map_lookup_elem(&start, &tid);
	if (!t0)
		return 0;
	__u64 delta = bpf_ktime_get_ns() - *t0;
	bpf_map_delete_elem(&start, &tid);
	__u32 b = log2_u64(delta);
	if (b >= BUCKETS)
		b = BUCKETS - 1;
	__u64 *c = bpf_map_lookup_elem(&latency_log2, &b);
	if (c)
		__sync_fetch_and_add(c, 1);
	__sync_fetch_and_add(&latency_sum_ns, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
