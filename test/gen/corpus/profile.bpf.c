// CPU profile (profile style): a perf_event program sampling stacks into a stack trace map,
// counts by a struct key holding both stack ids, Kconfig and .data settings.
#include "common.h"

#define MAX_DEPTH 127

struct stack_key {
	u32 pid;
	s32 kern_stack_id;
	s32 user_stack_id;
	char name[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_DEPTH * sizeof(u64));
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct stack_key);
	__type(value, u64);
} samples SEC(".maps");

extern unsigned int CONFIG_HZ __kconfig __weak;
extern bool CONFIG_PREEMPT __kconfig __weak;

bool include_idle = false;
u64 sample_count = 0;
s32 last_error = 0;

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	if (!include_idle && id == 0)
		return 0;
	struct stack_key key = { .pid = id >> 32 };
	bpf_get_current_comm(&key.name, sizeof(key.name));
	key.kern_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, 0);
	key.user_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, BPF_F_USER_STACK);
	if (key.kern_stack_id < 0)
		last_error = key.kern_stack_id;
	u64 one = 1, *v = bpf_map_lookup_elem(&samples, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&samples, &key, &one, BPF_NOEXIST);
	__sync_fetch_and_add(&sample_count, CONFIG_HZ ? 1 : 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
