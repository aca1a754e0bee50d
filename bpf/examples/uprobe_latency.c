// examples/uprobe-latency: how long a user-space function takes. The uprobe stamps entry per
// thread; the uretprobe adds the duration to a log2 histogram (microseconds) and sends the
// exact nanoseconds through a ring buffer, from which the TypeScript side takes percentiles.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_SLOTS 32

struct sample {
	__u64 ns;
	__u32 tgid;
	__u32 pad;
};

const volatile __u32 target_tgid = 0;
/* Names struct sample in the BTF so `tsbpf gen --type sample` types the ring buffer records. */
const volatile struct sample sample_layout = {};
__u64 dropped = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} samples SEC(".maps");

SEC("uprobe")
int enter(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (target_tgid && (id >> 32) != target_tgid)
		return 0;
	__u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &id, &ts, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int leave(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *tsp = bpf_map_lookup_elem(&start, &id);
	if (!tsp)
		return 0;
	__u64 ns = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &id);
	__u64 us = ns / 1000;
	__u32 slot = 0;
	for (int i = 0; i < 63 && us > 1; i++) {
		us >>= 1;
		slot++;
	}
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__u64 *count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	struct sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	s->ns = ns;
	s->tgid = id >> 32;
	s->pad = 0;
	bpf_ringbuf_submit(s, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
