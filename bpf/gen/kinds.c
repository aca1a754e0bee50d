// Every shape `tsbpf gen` types (test/gen): struct keys, enums, bitfields, unions, anonymous
// members, char and integer arrays, pointers, per-CPU, queue, ring buffer, perf buffer, map of
// maps, prog array, sockhash with a struct key, constants, .data and .bss of struct type.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum verdict { VERDICT_PASS = 0, VERDICT_DROP = 1, VERDICT_COUNT = 7 };
enum big_flags : unsigned long long { BIG_ONE = 1ULL << 40 };

struct flow_key {
	__u32 addr;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
	enum verdict verdict;
	unsigned int small : 3, big_bits : 20;
	unsigned long long wide : 40;
	_Bool seen;
	char label[8];
	__u8 mac[6];
	__u16 ports[4];
	__u32 hist[32];
	void *ptr;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	struct {
		__s16 lo;
		__s16 hi;
	} range;
};

union value_or_error {
	__s64 value;
	__u32 error;
};

struct alert {
	__u32 code;
	enum big_flags flags;
	union value_or_error v;
};

typedef struct {
	__u32 a;
	__u32 b;
} pair_t;

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} per_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, pair_t);
} pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} alerts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 128);
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = { .values = { &inner_a } };

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, struct flow_key);
	__type(value, __u64);
} socks SEC(".maps");

const volatile __u64 threshold = 100;
const volatile enum verdict default_verdict = VERDICT_PASS;
const volatile char greeting[8] = "hi";
struct flow_stats last = {};
__u32 counters[4] = { 1, 2, 3, 4 };
pair_t last_pair = {};

SEC("xdp")
int count(struct xdp_md *ctx)
{
	struct flow_key k = { .addr = ctx->ingress_ifindex, .port = 1, .proto = 6 };
	struct flow_stats *s = bpf_map_lookup_elem(&flows, &k);
	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		last.packets = s->packets;
	}
	counters[0] += 1;
	if (counters[0] > threshold) {
		struct alert *a = bpf_ringbuf_reserve(&alerts, sizeof(*a), 0);
		if (a) {
			a->code = 1;
			a->flags = BIG_ONE;
			a->v.value = -1;
			bpf_ringbuf_submit(a, 0);
		}
	}
	bpf_tail_call(ctx, &jumps, 0);
	return default_verdict == VERDICT_PASS ? XDP_PASS : XDP_DROP;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	last_pair.a += 1;
	return 0;
}

SEC("?xdp")
int optional_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
