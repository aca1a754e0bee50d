// (tsbpf struct_ops CLI test copy, its own name so tests never race for one) A TCP congestion control written as libbpf does it: a global `struct tcp_congestion_ops` in
// SEC(".struct_ops.link") whose function members point at SEC("struct_ops/...") programs (ELF
// relocations) and whose data members (name, flags) are initial values. The local struct lists
// only what is used; the loader lays it out against the kernel's type by member name.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sock;

struct tcp_congestion_ops {
	void (*init)(struct sock *sk);
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	__u32 flags;
	char name[16];
};

/* How many connections the congestion control was initialised for. */
__u64 inits = 0;

SEC("struct_ops/tsbpf_init")
void tsbpf_init(unsigned long long *ctx)
{
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops/tsbpf_ssthresh")
__u32 tsbpf_ssthresh(unsigned long long *ctx)
{
	return 0x7fffffff;
}

SEC("struct_ops/tsbpf_cong_avoid")
void tsbpf_cong_avoid(unsigned long long *ctx)
{
}

SEC("struct_ops/tsbpf_undo_cwnd")
__u32 tsbpf_undo_cwnd(unsigned long long *ctx)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops tsbpf_cc = {
	.init = (void *)tsbpf_init,
	.ssthresh = (void *)tsbpf_ssthresh,
	.cong_avoid = (void *)tsbpf_cong_avoid,
	.undo_cwnd = (void *)tsbpf_undo_cwnd,
	.flags = 1, /* TCP_CONG_NON_RESTRICTED: listed in tcp_allowed_congestion_control */
	.name = "tsbpf_cli_cc",
};

char LICENSE[] SEC("license") = "GPL";
