// An opensnoop-like tracer: the syscalls/sys_enter_openat tracepoint records, per pid, how
// many opens it saw and the last file name, for processes whose pid is in a filter.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NAME_LEN 64

struct sys_enter_openat_args {
	__u64 common;
	long syscall_nr;
	long dfd;
	const char *filename;
	long flags;
	long mode;
};

struct event {
	__u64 count;
	__u32 pid;
	__s32 flags;
	char filename[NAME_LEN];
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct event);
} opens SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct sys_enter_openat_args *args)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (target_tgid && tgid != target_tgid)
		return 0;
	struct event *e = bpf_map_lookup_elem(&opens, &tgid);
	if (!e) {
		struct event fresh = { .pid = tgid };
		bpf_map_update_elem(&opens, &tgid, &fresh, BPF_NOEXIST);
		e = bpf_map_lookup_elem(&opens, &tgid);
		if (!e)
			return 0;
	}
	e->count += 1;
	e->flags = args->flags;
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), args->filename);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
