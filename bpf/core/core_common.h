/* Minimal local copies of kernel types for the CO-RE tests: only the fields used, in any
 * order, with preserve_access_index so every access is relocated against the running
 * kernel's BTF (no vmlinux.h needed). */
#pragma once
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __pai __attribute__((preserve_access_index))

/* libbpf 1.1's headers predate bpf_ksym_exists. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be __weak"); !!sym; })
#endif

struct list_head {
	struct list_head *next, *prev;
} __pai;

struct task_struct {
	char comm[16];
	int tgid;
	int pid;
	unsigned int flags;
	struct task_struct *real_parent;
	struct list_head children;
} __pai;

/* An older flavor: one field the kernel never had. */
struct task_struct___old {
	int pid;
	long this_field_does_not_exist;
} __pai;

/* A flavor with a narrower unsigned field (the kernel's is unsigned int): the load is widened. */
struct task_struct___small {
	__u8 flags;
	char comm[16];
} __pai;

/* A flavor whose field has the wrong type (int where the kernel has a struct): no match. */
struct list_head___bad {
	int next;
} __pai;

enum pid_type {
	PIDTYPE_SID = 99, /* local values are wrong on purpose: the kernel's are used */
	PIDTYPE_TGID = 98,
};

enum pid_type___new {
	PIDTYPE_FUTURE = 7,
};

enum perf_callchain_context {
	PERF_CONTEXT_USER = 0xfffffffffffffe00ULL,
};

struct not_in_any_kernel {
	int x;
} __pai;
