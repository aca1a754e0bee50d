// Global data: .data, .bss, .rodata and named variants, set before load and read after.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 multiplier = 1;          // .rodata: set before load
const volatile __u64 magic = 0x1122334455667788ULL;
__u64 packets = 0;                             // .bss
__u64 bytes_seen = 0;                          // .bss
__u32 last_len = 7;                            // .data
__u32 custom_counter SEC(".data.custom") = 100; // named .data section
char greeting[16] SEC(".rodata.greeting") = "hello"; // named .rodata section
static __u32 hidden_static = 3;                // static variable in .data

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	packets += 1;
	bytes_seen += len * multiplier;
	last_len = len;
	custom_counter += hidden_static;
	hidden_static += 1;
	if (greeting[0] != 'h')
		return XDP_DROP;
	return magic == 0x1122334455667788ULL ? XDP_PASS : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
