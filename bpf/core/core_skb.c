// Bitfields and anonymous members of the kernel's struct sk_buff, reached from a tc program's
// context with the bpf_cast_to_kern_ctx kfunc and run by BPF_PROG_TEST_RUN.
#include "core_common.h"

char LICENSE[] SEC("license") = "GPL";

struct sk_buff {
	unsigned int len;
	__u8 pkt_type:3;
	__u16 protocol;
} __pai;

struct __sk_buff;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct skb_results {
	__u64 len, pkt_type, protocol;
	__u64 off_pkt_type, size_pkt_type, lshift_pkt_type, rshift_pkt_type, signed_pkt_type;
} skb_results;

SEC("tc")
int core_skb(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	struct skb_results *r = &skb_results;

	r->len = skb->len;
	r->protocol = skb->protocol;
	r->pkt_type = BPF_CORE_READ_BITFIELD(skb, pkt_type);
	r->off_pkt_type = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_BYTE_OFFSET);
	r->size_pkt_type = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_BYTE_SIZE);
	r->lshift_pkt_type = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_LSHIFT_U64);
	r->rshift_pkt_type = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_RSHIFT_U64);
	r->signed_pkt_type = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_SIGNED);
	return 0;
}
