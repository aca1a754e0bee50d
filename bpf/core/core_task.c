// CO-RE against real kernel types, run by BPF_PROG_TEST_RUN as syscall programs.
#include "core_common.h"

char LICENSE[] SEC("license") = "GPL";

/* Everything the programs compute, read back by the test. */
struct results {
	__u64 pid, tgid;
	__u64 off_pid, off_comm, size_comm, size_flags, signed_pid, signed_flags;
	__u64 exists_pid, exists_missing, guarded;
	__u64 type_exists_task, type_exists_missing, type_size_task, type_size_list;
	__u64 type_id_local, type_id_target;
	__u64 matches_list, matches_bad;
	__u64 enum_exists_sid, enum_exists_future, enum_sid, enum_tgid;
	__u64 enum64_user;
	__u64 parent_tgid;
	__u64 children_next_nonnull;
	__u64 flags_widened, comm2, sub_tgid;
	char comm[16];
} results;

/* A subprogram: its CO-RE records are rebased onto the program that calls it. */
static __attribute__((noinline)) __u64 read_tgid(struct task_struct *t)
{
	return BPF_CORE_READ(t, tgid);
}

SEC("syscall")
int core_task(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_struct___old *old = (void *)t;
	struct results *r = &results;

	r->pid = t->pid; /* direct loads: the verifier checks the offsets against the kernel's BTF */
	r->tgid = t->tgid;
	r->parent_tgid = t->real_parent->tgid;
	r->children_next_nonnull = t->children.next != 0;
	__builtin_memcpy(r->comm, t->comm, sizeof(r->comm));
	r->sub_tgid = read_tgid(t);
	r->flags_widened = ((struct task_struct___small *)t)->flags; /* 1-byte load becomes 4 bytes */
	r->comm2 = ((struct task_struct___small *)t)->comm[2];        /* an array element */

	r->off_pid = bpf_core_field_offset(struct task_struct, pid);
	r->off_comm = bpf_core_field_offset(struct task_struct, comm);
	r->size_comm = bpf_core_field_size(struct task_struct, comm);
	r->size_flags = bpf_core_field_size(struct task_struct, flags);
	r->signed_pid = __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
	r->signed_flags = __builtin_preserve_field_info(t->flags, BPF_FIELD_SIGNED);

	r->exists_pid = bpf_core_field_exists(old->pid);
	r->exists_missing = bpf_core_field_exists(old->this_field_does_not_exist);
	/* The load in this branch is poisoned; the branch is dead on this kernel, so it verifies. */
	if (bpf_core_field_exists(old->this_field_does_not_exist))
		r->guarded = old->this_field_does_not_exist;
	else
		r->guarded = 42;

	r->type_exists_task = bpf_core_type_exists(struct task_struct);
	r->type_exists_missing = bpf_core_type_exists(struct not_in_any_kernel);
	r->type_size_task = bpf_core_type_size(struct task_struct);
	r->type_size_list = bpf_core_type_size(struct list_head);
	r->type_id_local = bpf_core_type_id_local(struct task_struct);
	r->type_id_target = bpf_core_type_id_kernel(struct task_struct);
	r->matches_list = bpf_core_type_matches(struct list_head);
	r->matches_bad = bpf_core_type_matches(struct list_head___bad);

	r->enum_exists_sid = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID);
	r->enum_exists_future = bpf_core_enum_value_exists(enum pid_type___new, PIDTYPE_FUTURE);
	r->enum_sid = bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	r->enum_tgid = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	r->enum64_user = bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_USER);
	return 0;
}

/* Not loaded by default: reads a field the kernel does not have without a guard. */
SEC("?syscall")
int core_unguarded(void *ctx)
{
	struct task_struct___old *old = (void *)bpf_get_current_task_btf();

	results.guarded = old->this_field_does_not_exist;
	return 0;
}
