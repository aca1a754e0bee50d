// The streaming producer of the reader benchmarks (benchmarks/readers.ts) and the fairness test
// (test/ringbuf/fairness.test.ts): a tracepoint on getppid(2) that sends one 16-byte record per
// call made by one process (config[0], its tgid) to a ring buffer or a perf event array. The
// same object is loaded by tsbpf and by libbpf (benchmarks/c/readers.c), so both read the same
// records from the same program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct rec {
	__u64 seq;
	__u64 pid_tgid;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

// What the program did: records it tried to send, and those the full ring refused. Counting
// refusals here is how a ring buffer's drops are counted: the reader cannot see them.
__u64 produced = 0;
__u64 dropped = 0;

static __always_inline int mine(__u64 id)
{
	__u32 zero = 0;
	__u32 *tgid = bpf_map_lookup_elem(&config, &zero);
	return tgid && *tgid == (__u32)(id >> 32);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int rb_getppid(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!mine(id))
		return 0;
	__u64 seq = __sync_fetch_and_add(&produced, 1);
	struct rec *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	r->seq = seq;
	r->pid_tgid = id;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int perf_getppid(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!mine(id))
		return 0;
	struct rec r = { .seq = __sync_fetch_and_add(&produced, 1), .pid_tgid = id };
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &r, sizeof(r)) < 0)
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
