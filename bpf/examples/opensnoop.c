// examples/opensnoop: the openat tracepoint sends one event per open (pid, comm, flags,
// file name) to a ring buffer; the TypeScript side filters by pid or name and prints them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16
#define NAME_MAX 128

struct sys_enter_openat_args {
	__u64 common;
	long syscall_nr;
	long dfd;
	const char *filename;
	long flags;
	long mode;
};

struct event {
	__u64 ts_ns;
	__u32 pid;
	__s32 flags;
	char comm[TASK_COMM_LEN];
	char filename[NAME_MAX];
};

const volatile __u32 target_tgid = 0;
/* Names struct event in the BTF so `tsbpf gen --type event` types the ring buffer records. */
const volatile struct event event_layout = {};
__u64 dropped = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct sys_enter_openat_args *args)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (target_tgid && tgid != target_tgid)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = tgid;
	e->flags = args->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), args->filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
