/* Shared by the corpus programs: vmlinux.h (dumped from the running kernel's BTF by
 * `tsbpf btf dump --format c`, passed with -I by test/gen/corpus.ts) and libbpf's headers. */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define TASK_COMM_LEN 16
#define MAX_SLOTS 26

static __always_inline __u64 log2l(__u64 v)
{
	__u64 r = 0;
	while (v > 1 && r < MAX_SLOTS - 1) {
		v >>= 1;
		r++;
	}
	return r;
}
