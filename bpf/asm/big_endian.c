// tsbpf-build: -target bpfeb
// A big-endian object (bpfeb): the golden tests check that the listing, the decoder and the
// text round trip use the object's byte order (register nibbles and fields swap).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} hits SEC(".maps");

static __noinline __u64 mix(__u64 a, __u64 b)
{
	return (a * 31) ^ (b >> 3) ^ 0x1122334455667788ULL;
}

SEC("socket")
int be_prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &key);
	__u32 len = skb->len;
	if (v) {
		__sync_fetch_and_add(v, 1);
		if (len > 100)
			return mix(*v, len) & 0xff;
	}
	return (__s32)len < 0 ? -1 : (int)(len >> 2);
}

char LICENSE[] SEC("license") = "GPL";
