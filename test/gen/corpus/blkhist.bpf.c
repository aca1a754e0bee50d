// Block I/O latency histograms (biolatency style): start times keyed by request pointer, one
// log2 histogram per struct key (device and op), raw tracepoints with CO-RE reads.
#include "common.h"

struct hist_key {
	u32 dev;
	u32 cmd_flags;
};

struct hist {
	u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

const volatile bool targ_per_disk = false;
const volatile bool targ_ms = false;

static struct hist zero_hist;

SEC("raw_tp/block_rq_issue")
int BPF_PROG(rq_issue, struct request *rq)
{
	u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &rq, &ts, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	u64 *tsp = bpf_map_lookup_elem(&start, &rq);
	if (!tsp)
		return 0;
	u64 delta = bpf_ktime_get_ns() - *tsp;
	struct hist_key key = {};
	if (targ_per_disk) {
		struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
		key.dev = disk ? (BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor) : 0;
	}
	key.cmd_flags = BPF_CORE_READ(rq, cmd_flags);
	struct hist *h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		bpf_map_update_elem(&hists, &key, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h)
			goto out;
	}
	delta /= targ_ms ? 1000000U : 1000U;
	u64 slot = log2l(delta);
	if (slot < MAX_SLOTS)
		__sync_fetch_and_add(&h->slots[slot], 1);
out:
	bpf_map_delete_elem(&start, &rq);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
