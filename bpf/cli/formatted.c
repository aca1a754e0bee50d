// Maps whose keys and values bpftool formats through BTF, for `tsbpf map` tests: a struct key
// with a char array, a value with an enum, a bool, a signed int, a byte array, bitfields, a
// nested struct and a union; a per-CPU array; a queue; and a ring buffer that the program
// writes to on every run (for `map event_pipe`).
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

enum conn_state { CLOSED = 0, OPEN = 1, HALF_OPEN = 7 };

struct flow_key {
	__u32 pid;
	char comm[16];
};

struct flow_stats {
	__u64 packets;
	enum conn_state state;
	bool seen;
	__s32 delta;
	__u8 mac[4];
	__u32 kind : 3;
	__u32 level : 5;
	struct {
		__u16 lo;
		__u16 hi;
	} port;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	} tag;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} per_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} jobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

__u32 runs = 0;

SEC("xdp")
int emit_event(struct xdp_md *ctx)
{
	__u64 rec[2] = { 0x1122334455667788ULL, ++runs };
	bpf_ringbuf_output(&events, rec, sizeof(rec), 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
