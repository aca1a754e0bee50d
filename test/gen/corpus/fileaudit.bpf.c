// File opens audited (opensnoop + lsm style): an LSM hook, a syscall tracepoint pair with the
// arguments kept by thread id, a fentry on the VFS, an iterator over tasks, and a struct of
// filters in .rodata.
// tsbpf-gen: --type open_event --type filters
#include "common.h"

#define NAME_MAX 255

enum open_result { OPEN_OK, OPEN_DENIED, OPEN_FAILED };

struct filters {
	pid_t pid;
	uid_t uid;
	bool failed_only;
	char prefix[32];
};

struct open_args {
	const char *fname;
	int flags;
};

struct open_event {
	u64 ts;
	pid_t pid;
	uid_t uid;
	int ret;
	int flags;
	enum open_result result;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

const volatile struct filters filter = { .pid = 0, .uid = -1 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct open_args);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} opens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, enum open_result);
	__type(value, u64);
} by_result SEC(".maps");

u64 denied = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	if (filter.pid && filter.pid != (pid_t)(id >> 32))
		return 0;
	struct open_args a = { .fname = (const char *)ctx->args[1], .flags = (int)ctx->args[2] };
	u32 tid = id;
	bpf_map_update_elem(&pending, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct open_args *a = bpf_map_lookup_elem(&pending, &tid);
	if (!a)
		return 0;
	int ret = ctx->ret;
	if (filter.failed_only && ret >= 0)
		goto out;
	struct open_event *e = bpf_ringbuf_reserve(&opens, sizeof(*e), 0);
	if (!e)
		goto out;
	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = a->flags;
	e->result = ret >= 0 ? OPEN_OK : ret == -13 ? OPEN_DENIED : OPEN_FAILED;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(&e->fname, sizeof(e->fname), a->fname);
	enum open_result r = e->result;
	bpf_ringbuf_submit(e, 0);
	u64 *c = bpf_map_lookup_elem(&by_result, &r);
	if (c)
		__sync_fetch_and_add(c, 1);
out:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(check_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	kuid_t uid = BPF_CORE_READ(file, f_cred, fsuid);
	if (filter.uid != (uid_t)-1 && uid.val == filter.uid) {
		__sync_fetch_and_add(&denied, 1);
		return -1;
	}
	return 0;
}

SEC("fentry/vfs_open")
int BPF_PROG(on_vfs_open, const struct path *path, struct file *file)
{
	return 0;
}

SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", task->pid, task->comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
