// Producers for the reader tests (test/ringbuf, test/perf): XDP programs run by
// BPF_PROG_TEST_RUN that write numbered records to a ring buffer or a perf event array, and one
// that drains a user ring buffer. Each run reads its parameters from the first bytes of the
// test packet (struct params), so one object serves every case.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct params {
	__u32 count;   // records to write
	__u32 first;   // sequence number of the first record
	__u32 size;    // payload bytes of bpf_ringbuf_output / perf records (8..64)
	__u32 flags;   // BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP for submits
	__u32 discard; // reserve+submit: discard records whose seq % discard == 0 (0: none)
};

// A record: its sequence number, then bytes derived from it (seq * 3 + i).
struct record {
	__u32 seq;
	__u32 size;
	__u8 fill[56];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 128); // set: tsbpf's loader does not default it to the CPU count as libbpf does
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} urb SEC(".maps");

// Results, read by the tests through the collection's live variables.
__u32 dropped = 0;       // reserve/output failures (ring full)
__u32 drained = 0;       // user ring buffer records seen by the last drain
__u64 seen[64] = {};     // first 8 bytes of each drained user record (0 if shorter)

struct loop_ctx {
	struct params p;
	void *xdp;
};

static void fill_record(struct record *r, __u32 seq, __u32 size)
{
	r->seq = seq;
	r->size = size;
	for (int i = 0; i < 56; i++)
		r->fill[i] = (__u8)(seq * 3 + i);
}

static __always_inline int read_params(struct xdp_md *ctx, struct params *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + sizeof(*p) > end)
		return -1;
	__builtin_memcpy(p, data, sizeof(*p));
	if (p->size < 8)
		p->size = 8;
	if (p->size > 64)
		p->size = 64;
	return 0;
}

static long output_one(__u64 i, struct loop_ctx *c)
{
	struct record r;
	__u32 size = c->p.size;
	fill_record(&r, c->p.first + (__u32)i, size);
	if (size > sizeof(r))
		size = sizeof(r);
	if (bpf_ringbuf_output(&rb, &r, size, c->p.flags))
		dropped++;
	return 0;
}

// bpf_ringbuf_output of `count` records of `size` bytes.
SEC("xdp")
int rb_output(struct xdp_md *ctx)
{
	struct loop_ctx c = {};
	if (read_params(ctx, &c.p))
		return XDP_ABORTED;
	bpf_loop(c.p.count, output_one, &c, 0);
	return XDP_PASS;
}

static long reserve_one(__u64 i, struct loop_ctx *c)
{
	__u32 seq = c->p.first + (__u32)i;
	struct record *r = bpf_ringbuf_reserve(&rb, 16, 0);
	if (!r) {
		dropped++;
		return 0;
	}
	r->seq = seq;
	r->size = 16;
	for (int k = 0; k < 8; k++)
		r->fill[k] = (__u8)(seq * 3 + k);
	if (c->p.discard && seq % c->p.discard == 0)
		bpf_ringbuf_discard(r, c->p.flags);
	else
		bpf_ringbuf_submit(r, c->p.flags);
	return 0;
}

// bpf_ringbuf_reserve + submit (or discard) of `count` 16-byte records.
SEC("xdp")
int rb_reserve(struct xdp_md *ctx)
{
	struct loop_ctx c = {};
	if (read_params(ctx, &c.p))
		return XDP_ABORTED;
	bpf_loop(c.p.count, reserve_one, &c, 0);
	return XDP_PASS;
}

static long perf_one(__u64 i, struct loop_ctx *c)
{
	struct record r;
	__u32 size = c->p.size;
	fill_record(&r, c->p.first + (__u32)i, size);
	if (size > sizeof(r))
		size = sizeof(r);
	if (bpf_perf_event_output(c->xdp, &events, BPF_F_CURRENT_CPU, &r, size))
		dropped++;
	return 0;
}

// bpf_perf_event_output of `count` records of `size` bytes on the current CPU.
SEC("xdp")
int perf_output(struct xdp_md *ctx)
{
	struct loop_ctx c = {};
	if (read_params(ctx, &c.p))
		return XDP_ABORTED;
	c.xdp = ctx;
	bpf_loop(c.p.count, perf_one, &c, 0);
	return XDP_PASS;
}

static long drain_one(struct bpf_dynptr *d, void *ctx)
{
	__u32 n = drained;
	__u64 v = 0;
	if (n >= 64)
		return 1;
	bpf_dynptr_read(&v, sizeof(v), d, 0, 0);
	seen[n] = v;
	drained = n + 1;
	return 0;
}

// Drain the user ring buffer, recording what each record starts with; returns the count.
SEC("xdp")
int urb_drain(struct xdp_md *ctx)
{
	drained = 0;
	long n = bpf_user_ringbuf_drain(&urb, drain_one, 0, 0);
	return n < 0 ? 0x10000 - n : n;
}

char LICENSE[] SEC("license") = "GPL";
