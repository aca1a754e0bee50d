// Loads and stores of every size, stores of immediates, atomics (with and without fetch,
// xchg, cmpxchg), legacy packet loads (ld_abs/ld_ind), ld_imm64 of 64-bit constants, maps,
// map values and kernel symbols, helper calls, bpf2bpf calls and a kfunc call.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counts SEC(".maps");

volatile __u64 total;
volatile __u32 hits;
const volatile __u64 limit = 0x123456789abcdefULL;

struct S { __u8 a; __u16 b; __u32 c; __u64 d; };

extern const int bpf_prog_active __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

static __noinline __u64 twice(__u64 x)
{
	return x * 2;
}

SEC("socket")
int mem(struct __sk_buff *skb)
{
	struct S s;
	volatile struct S *p = &s;
	__u32 key = 0;
	__u64 *v;
	p->a = 1; p->b = 2; p->c = 3; p->d = 4;
	p->a = (__u8)skb->len; p->b = (__u16)skb->len; p->c = skb->len; p->d = skb->len;
	__u64 sum = p->a + p->b + p->c + p->d;
	sum += load_byte(skb, 12) + load_half(skb, 14) + load_word(skb, 16);
	sum += load_byte(skb, skb->len & 7);
	v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		sum += __sync_fetch_and_add(v, 2);
		__sync_fetch_and_or(v, 4);
		__sync_fetch_and_and(v, 5);
		__sync_fetch_and_xor(v, 6);
		sum += __sync_fetch_and_or(v, 4);
		sum += __sync_fetch_and_and(v, 5);
		sum += __sync_fetch_and_xor(v, 6);
		sum += __sync_lock_test_and_set(v, 7);
		sum += __sync_val_compare_and_swap(v, 7, 8);
	}
	__sync_fetch_and_add(&hits, 1);
	sum += __sync_fetch_and_add(&hits, 1);
	sum += __sync_fetch_and_or(&hits, 2);
	sum += __sync_lock_test_and_set(&hits, 3);
	sum += __sync_val_compare_and_swap(&hits, 3, 4);
	total = sum + limit + 0x1122334455667788ULL;
	return twice(sum) + (long)&bpf_prog_active;
}

SEC("tc")
int kfunc(struct __sk_buff *skb)
{
	struct task_struct *t = bpf_task_from_pid(1);
	if (t)
		bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
