// An optional struct_ops map (libbpf 1.4's `?` section prefix): ops for a type this kernel does
// not have. The map is not created by default, and the program only it points at is not loaded,
// so the object loads anywhere; asking for the map (autocreate) or the program fails, naming it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct tsbpf_missing_ops {
	int (*run)(void *arg);
	char name[16];
};

SEC("struct_ops/tsbpf_missing_run")
int tsbpf_missing_run(unsigned long long *ctx)
{
	return 0;
}

SEC("?.struct_ops.link")
struct tsbpf_missing_ops tsbpf_missing = {
	.run = (void *)tsbpf_missing_run,
	.name = "tsbpf_missing",
};

char LICENSE[] SEC("license") = "GPL";
