// Packet counters (libbpf-bootstrap xdp/tc style): XDP and tc programs sharing a per-CPU hash
// keyed by a struct of protocol fields, a per-CPU array of totals, an enum of verdicts.
#include "common.h"

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0

enum pkt_verdict { PKT_PASS, PKT_DROP, PKT_MAX };

struct pkt_key {
	u32 saddr;
	u32 daddr;
	u8 proto;
	u8 dir;
	u16 pad;
};

struct pkt_val {
	u64 packets;
	u64 bytes;
	enum pkt_verdict last;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct pkt_key);
	__type(value, struct pkt_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PKT_MAX);
	__type(key, u32);
	__type(value, u64);
} totals SEC(".maps");

const volatile u32 drop_saddr = 0;

static __always_inline enum pkt_verdict account(void *data, void *end, u8 dir)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return PKT_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return PKT_PASS;
	struct pkt_key k = { .saddr = ip->saddr, .daddr = ip->daddr, .proto = ip->protocol, .dir = dir };
	enum pkt_verdict v = drop_saddr && ip->saddr == drop_saddr ? PKT_DROP : PKT_PASS;
	struct pkt_val *val = bpf_map_lookup_elem(&flows, &k);
	if (val) {
		val->packets++;
		val->bytes += end - data;
		val->last = v;
	} else {
		struct pkt_val init = { 1, end - data, v };
		bpf_map_update_elem(&flows, &k, &init, BPF_ANY);
	}
	u32 idx = v;
	u64 *t = bpf_map_lookup_elem(&totals, &idx);
	if (t)
		(*t)++;
	return v;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	return account((void *)(long)ctx->data, (void *)(long)ctx->data_end, 0) == PKT_DROP ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	account((void *)(long)skb->data, (void *)(long)skb->data_end, 1);
	return TC_ACT_OK;
}

SEC("tcx/ingress")
int tcx_in(struct __sk_buff *skb)
{
	account((void *)(long)skb->data, (void *)(long)skb->data_end, 0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
