// Parses a frame the way a real XDP program would and records every field it read in `parsed`
// (.bss), so tests can check tsbpf's packet builders against the kernel: Ethernet, up to two
// VLAN tags, IPv4/IPv6, UDP/TCP/ICMP/ICMPv6, and whether the IPv4 header checksum and the L4
// checksum (over the pseudo-header) verify. Returns XDP_PASS, or XDP_ABORTED when it cannot parse.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct parsed {
	__u32 frame_len;
	__u32 vlan_count;
	__u32 vlan_outer_tpid;
	__u32 vlan_ids[2];
	__u32 eth_proto;
	__u32 ip_version;
	__u32 l4_proto;
	__u32 ttl;
	__u32 ip_len;          /* IPv4 total length, IPv6 payload length */
	__u32 ipv4_csum_ok;
	__u32 src4;            /* network order as read */
	__u32 dst4;
	__u8 src6[16];
	__u8 dst6[16];
	__u32 sport;
	__u32 dport;
	__u32 udp_len;
	__u32 tcp_flags;
	__u32 icmp_type;
	__u32 l4_len;
	__u32 l4_csum_ok;
	__u32 payload_len;
};

struct parsed parsed;

#define MAX_L4 1600

static __always_inline __u32 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

SEC("xdp")
int parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	struct parsed *out = &parsed;

	__builtin_memset(out, 0, sizeof(*out));
	out->frame_len = end - data;
	if (p + 14 > (__u8 *)end)
		return XDP_ABORTED;
	__u16 proto = bpf_ntohs(*(__u16 *)(p + 12));
	p += 14;
#pragma clang loop unroll(full)
	for (int i = 0; i < 2; i++) {
		if (proto != 0x8100 && proto != 0x88a8)
			break;
		if (p + 4 > (__u8 *)end)
			return XDP_ABORTED;
		if (i == 0)
			out->vlan_outer_tpid = proto;
		out->vlan_ids[i] = bpf_ntohs(*(__u16 *)p) & 0xfff;
		out->vlan_count = i + 1;
		proto = bpf_ntohs(*(__u16 *)(p + 2));
		p += 4;
	}
	out->eth_proto = proto;

	__u32 pseudo = 0;
	__u32 l4_len;
	__u8 l4;
	if (proto == 0x0800) {
		if (p + 20 > (__u8 *)end)
			return XDP_ABORTED;
		out->ip_version = p[0] >> 4;
		out->ttl = p[8];
		l4 = p[9];
		out->ip_len = bpf_ntohs(*(__u16 *)(p + 2));
		out->src4 = *(__u32 *)(p + 12);
		out->dst4 = *(__u32 *)(p + 16);
		__u32 sum = 0;
#pragma clang loop unroll(full)
		for (int i = 0; i < 10; i++)
			sum += bpf_ntohs(*(__u16 *)(p + 2 * i));
		out->ipv4_csum_ok = fold(sum) == 0xffff;
		if (out->ip_len < 20)
			return XDP_ABORTED;
		l4_len = out->ip_len - 20;
#pragma clang loop unroll(full)
		for (int i = 0; i < 4; i++)
			pseudo += bpf_ntohs(*(__u16 *)(p + 12 + 2 * i));
		p += 20;
	} else if (proto == 0x86dd) {
		if (p + 40 > (__u8 *)end)
			return XDP_ABORTED;
		out->ip_version = p[0] >> 4;
		l4 = p[6];
		out->ttl = p[7];
		out->ip_len = bpf_ntohs(*(__u16 *)(p + 4));
		__builtin_memcpy(out->src6, p + 8, 16);
		__builtin_memcpy(out->dst6, p + 24, 16);
		l4_len = out->ip_len;
#pragma clang loop unroll(full)
		for (int i = 0; i < 16; i++)
			pseudo += bpf_ntohs(*(__u16 *)(p + 8 + 2 * i));
		p += 40;
	} else {
		return XDP_PASS;
	}
	out->l4_proto = l4;
	out->l4_len = l4_len;
	if (l4 != 1)
		pseudo += l4 + l4_len; /* ICMPv4 has no pseudo-header */
	else
		pseudo = 0;

	__u32 hdr = 0;
	if (l4 == 17) {
		if (p + 8 > (__u8 *)end)
			return XDP_ABORTED;
		out->sport = bpf_ntohs(*(__u16 *)p);
		out->dport = bpf_ntohs(*(__u16 *)(p + 2));
		out->udp_len = bpf_ntohs(*(__u16 *)(p + 4));
		hdr = 8;
	} else if (l4 == 6) {
		if (p + 20 > (__u8 *)end)
			return XDP_ABORTED;
		out->sport = bpf_ntohs(*(__u16 *)p);
		out->dport = bpf_ntohs(*(__u16 *)(p + 2));
		out->tcp_flags = p[13];
		hdr = (p[12] >> 4) * 4;
	} else if (l4 == 1 || l4 == 58) {
		if (p + 8 > (__u8 *)end)
			return XDP_ABORTED;
		out->icmp_type = p[0];
		hdr = 8;
	} else {
		return XDP_PASS;
	}
	out->payload_len = l4_len - hdr;

	/* The L4 checksum over the segment: l4_len bytes, word by word. */
	__u32 sum = pseudo;
	__u8 *q = p;
#pragma clang loop unroll(disable)
	for (int i = 0; i < MAX_L4 / 2; i++) {
		if (2 * i + 1 >= l4_len)
			break;
		if (q + 2 > (__u8 *)end)
			return XDP_ABORTED;
		sum += bpf_ntohs(*(__u16 *)q);
		q += 2;
	}
	if (l4_len & 1) {
		if (q + 1 > (__u8 *)end)
			return XDP_ABORTED;
		sum += (__u32)q[0] << 8;
	}
	out->l4_csum_ok = fold(sum) == 0xffff;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
