// examples/policy: a Cilium-style identity policy on an interface's ingress (tcx or tc).
// Endpoints have numeric identities (identities: IPv4 source address -> identity); the policy
// map says, for (source identity, destination port, protocol), which rule matches and whether it
// allows. IPv4 packets with no matching rule are dropped (default deny, rule 0); drops are
// counted per rule. Non-IPv4 (ARP) passes. User space edits both maps live.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IDENTITY_WORLD 2 /* a source address with no identity, as Cilium's reserved "world" */
#define MAX_RULES 64

struct policy_key {
	__u32 identity;
	__u16 dport; /* host byte order; 0 for ICMP */
	__u8 proto;  /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP */
	__u8 pad;
};

struct verdict {
	__u32 rule;  /* 1..MAX_RULES-1: which rule matched, for the drop counters */
	__u32 allow; /* 1 allow, 0 deny */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* IPv4 address as it is on the wire */
	__type(value, __u32);
	__uint(max_entries, 1024);
} identities SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct policy_key);
	__type(value, struct verdict);
	__uint(max_entries, 1024);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32); /* rule; 0 = default deny */
	__type(value, __u64);
	__uint(max_entries, MAX_RULES);
} drops SEC(".maps");

static __always_inline int drop(__u32 rule)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &rule);

	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_SHOT;
}

SEC("tcx/ingress")
int enforce(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct policy_key key = {};
	struct iphdr *ip;
	__u32 *id;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return TC_ACT_OK;
	id = bpf_map_lookup_elem(&identities, &ip->saddr);
	key.identity = id ? *id : IDENTITY_WORLD;
	key.proto = ip->protocol;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		/* both headers start with source port, destination port */
		__be16 *ports = (void *)ip + ip->ihl * 4;
		if ((void *)(ports + 2) > end)
			return drop(0);
		key.dport = bpf_ntohs(ports[1]);
	}
	struct verdict *v = bpf_map_lookup_elem(&policy, &key);
	if (!v)
		return drop(0);
	if (!v->allow)
		return drop(v->rule < MAX_RULES ? v->rule : 0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
