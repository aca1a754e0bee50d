// Maps of maps: per-tenant policy tables (hash of maps of hashes with struct keys), an array
// of maps of ring buffers, and one of per-CPU arrays; cgroup_skb programs consult them.
#include "common.h"

struct policy_key {
	u32 addr;
	u16 port;
	u8 proto;
	u8 pad;
};

struct policy {
	u32 action;
	u32 rate_limit;
	char label[12];
};

struct policy_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct policy_key);
	__type(value, struct policy);
};

struct policy_table default_policy SEC(".maps");

/* The last denial, for a reader to poll. (Globals of these types also make clang write them
 * to BTF in full: used only in a named map template, they would be forward declarations, and
 * a map key of a forward-declared struct has no size.) */
struct policy_key last_denied_key;
struct policy last_denied;

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 64);
	__type(key, u64);
	__array(values, struct policy_table);
} by_cgroup SEC(".maps") = {
	.values = {},
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
		__uint(max_entries, 2);
		__type(key, u32);
		__type(value, u64);
	});
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, 4096);
	});
} logs SEC(".maps");

static __always_inline int check(struct __sk_buff *skb, u32 slot)
{
	u64 cg = bpf_skb_cgroup_id(skb);
	void *table = bpf_map_lookup_elem(&by_cgroup, &cg);
	struct policy_key k = { .addr = skb->remote_ip4, .port = skb->remote_port >> 16, .proto = skb->protocol };
	struct policy *p = bpf_map_lookup_elem(table ? table : (void *)&default_policy, &k);
	u32 zero = 0;
	void *ctr = bpf_map_lookup_elem(&counters, &zero);
	if (ctr) {
		u64 *c = bpf_map_lookup_elem(ctr, &slot);
		if (c)
			(*c)++;
	}
	if (p && p->action) {
		last_denied_key = k;
		last_denied = *p;
		void *log = bpf_map_lookup_elem(&logs, &zero);
		if (log)
			bpf_ringbuf_output(log, &k, sizeof(k), 0);
		return 0;
	}
	return 1;
}

SEC("cgroup_skb/ingress")
int ingress(struct __sk_buff *skb) { return check(skb, 0); }

SEC("cgroup_skb/egress")
int egress(struct __sk_buff *skb) { return check(skb, 1); }

char LICENSE[] SEC("license") = "GPL";
