// A perf event array declared the way cilium's own loader test objects (and many others) do:
// type only, no key size, value size or max_entries. The loader gives it u32 keys and values
// and one slot per possible CPU, as cilium/ebpf and libbpf do (test/features/loader.test.ts).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
} events SEC(".maps");

SEC("xdp")
int emit(struct xdp_md *ctx)
{
	__u32 v = 42;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &v, sizeof(v));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
