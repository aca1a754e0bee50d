// examples/xdp-counter: count packets and bytes per protocol (TCP, UDP, ICMP, other) arriving on
// an interface. A per-CPU array: each CPU adds to its own slot without atomics; user space sums.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum proto { PROTO_TCP = 0, PROTO_UDP = 1, PROTO_ICMP = 2, PROTO_OTHER = 3, PROTO_MAX = 4 };

struct counts {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counts);
	__uint(max_entries, PROTO_MAX);
} stats SEC(".maps");

static __always_inline __u32 classify(void *data, void *end)
{
	struct ethhdr *eth = data;
	__u8 l4;

	if ((void *)(eth + 1) > end)
		return PROTO_OTHER;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return PROTO_OTHER;
		l4 = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return PROTO_OTHER;
		l4 = ip6->nexthdr; /* extension headers count as "other" */
	} else {
		return PROTO_OTHER;
	}
	switch (l4) {
	case IPPROTO_TCP: return PROTO_TCP;
	case IPPROTO_UDP: return PROTO_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: return PROTO_ICMP;
	default: return PROTO_OTHER;
	}
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = classify(data, end);
	struct counts *c = bpf_map_lookup_elem(&stats, &key);

	if (c) {
		c->packets++;
		c->bytes += end - data;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
