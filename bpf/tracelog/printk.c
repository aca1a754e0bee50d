// Writers for the BPF log readers (test/tracelog): XDP programs run by BPF_PROG_TEST_RUN that
// print the u32 tag found in the first bytes of the test packet, with bpf_printk (to tracefs'
// trace_pipe) and with the BPF stream kfunc (Linux 6.17+, read by BPF_PROG_STREAM_READ_BY_FD).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_stream_vprintk_impl(int stream_id, const char *fmt__str, const void *args, __u32 len__sz, void *aux__prog) __ksym __weak;

// The stream to write (BPF_STREAM_STDOUT); a global .rodata constant user space could change.
const volatile int stream_id = 1;

static __always_inline __u32 tag_of(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 4 > end)
		return 0;
	return *(__u32 *)data;
}

SEC("xdp")
int printk_tag(struct xdp_md *ctx)
{
	__u32 tag = tag_of(ctx);
	bpf_printk("tsbpf-printk tag=%u line=1", tag);
	bpf_printk("tsbpf-printk tag=%u line=2", tag);
	return XDP_PASS;
}

SEC("xdp")
int stream_tag(struct xdp_md *ctx)
{
	static const char fmt[] = "tsbpf-stream tag=%u\n";
	__u64 args[1] = { tag_of(ctx) };
	int err = bpf_stream_vprintk_impl(stream_id, fmt, args, sizeof(args), 0);
	return err < 0 ? 100 - err : XDP_PASS; // 100 + errno tells the test why it failed
}

char LICENSE[] SEC("license") = "GPL";
