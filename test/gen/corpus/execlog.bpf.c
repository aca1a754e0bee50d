// execve arguments (execsnoop style): a big event built in a per-CPU scratch array, sent
// through a perf event array; .rodata filters.
// tsbpf-gen: --type exec_event
#include "common.h"

#define ARGSIZE 64
#define MAXARGS 8

struct exec_event {
	pid_t pid;
	uid_t uid;
	int retval;
	int args_count;
	unsigned int args_size;
	char comm[TASK_COMM_LEN];
	char args[MAXARGS][ARGSIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

const volatile uid_t targ_uid = -1;
const volatile bool ignore_failed = true;
const volatile int max_args = MAXARGS;

SEC("tracepoint/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	u32 zero = 0;
	uid_t uid = (u32)bpf_get_current_uid_gid();
	if (targ_uid != (uid_t)-1 && targ_uid != uid)
		return 0;
	struct exec_event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = uid;
	e->args_count = 0;
	const char **argv = (const char **)ctx->args[1];
	for (int i = 0; i < MAXARGS && i < max_args; i++) {
		const char *p = NULL;
		bpf_probe_read_user(&p, sizeof(p), &argv[i]);
		if (!p)
			break;
		bpf_probe_read_user_str(e->args[i], ARGSIZE, p);
		e->args_count++;
	}
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
