// Lines read by bash (bashreadline style): a uretprobe whose section names the binary and
// function, another that leaves both to the caller, and a perf event array.
// tsbpf-gen: --type line_event
#include "common.h"

#define MAX_LINE 80

struct line_event {
	u32 pid;
	char comm[TASK_COMM_LEN];
	char line[MAX_LINE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} lines SEC(".maps");

static __always_inline int emit(struct pt_regs *ctx, const void *ret)
{
	struct line_event e = {};
	if (!ret)
		return 0;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	bpf_probe_read_user_str(&e.line, sizeof(e.line), ret);
	bpf_perf_event_output(ctx, &lines, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(bash_readline, const void *ret) { return emit(ctx, ret); }

SEC("uretprobe")
int BPF_KRETPROBE(any_readline, const void *ret) { return emit(ctx, ret); }

SEC("uprobe//usr/lib/x86_64-linux-gnu/libc.so.6:malloc")
int BPF_KPROBE(libc_malloc, size_t size)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
