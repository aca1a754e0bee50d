// tsbpf-build: -mcpu=v4
// cpu v4 instructions (signed division and modulo, sign-extending moves and loads, bswap,
// gotol) and the rarer ones only inline assembly reaches: may_goto, addr_space_cast, callx-
// free long jumps. load-acquire/store-release are raw bytes (LLVM 19 cannot assemble them).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define OPAQUE(x) asm volatile("" : "+r"(x))

SEC("socket")
int v4(struct __sk_buff *skb)
{
	__s64 a = (__s64)skb->len - 100, b = (__s64)skb->mark - 7;
	__s32 x = (__s32)skb->len - 100, y = (__s32)skb->mark - 7;
	OPAQUE(a); OPAQUE(b); OPAQUE(x); OPAQUE(y);
	__s64 r = a / b + a % b + a / 3 + a % 5;
	__s32 q = x / y + x % y + x / 3 + x % 5;
	OPAQUE(r); OPAQUE(q);
	r += (__s8)a + (__s16)a + (__s32)a;
	q += (__s8)x + (__s16)x;
	OPAQUE(r); OPAQUE(q);
	volatile __s8 c8 = (__s8)skb->len;
	volatile __s16 c16 = (__s16)skb->len;
	volatile __s32 c32 = (__s32)skb->len;
	r += c8 + c16 + c32;
	r += __builtin_bswap16((__u16)a) + __builtin_bswap32((__u32)a) + __builtin_bswap64((__u64)a);
	return r + q;
}

SEC("socket")
int rare(struct __sk_buff *skb)
{
	asm volatile(
		"r0 = 0\n"
		"gotol +1\n"
		"r0 = 1\n"
		"may_goto +1\n"
		"r0 = 2\n"
		"r1 = addr_space_cast(r1, 0, 1)\n"
		"r1 = addr_space_cast(r1, 1, 0)\n"
		"w1 = (s8)w1\n"
		"w1 = (s16)w1\n"
		"r1 = (s32)r1\n"
		"r2 = *(s8 *)(r10 - 8)\n"
		"r2 = *(s16 *)(r10 - 8)\n"
		"r2 = *(s32 *)(r10 - 8)\n"
		"*(u8 *)(r10 - 8) = 1\n"
		"*(u16 *)(r10 - 8) = -2\n"
		"*(u32 *)(r10 - 8) = 3\n"
		"*(u64 *)(r10 - 8) = -4\n"
		"r1 = le16 r1\n"
		"r1 = le32 r1\n"
		"r1 = le64 r1\n"
		"lock *(u32 *)(r10 - 8) |= w2\n"
		"lock *(u32 *)(r10 - 8) &= w2\n"
		"lock *(u32 *)(r10 - 8) ^= w2\n"
		"w2 = atomic_fetch_add((u32 *)(r10 - 8), w2)\n"
		"w2 = xchg32_32(r10 - 8, w2)\n"
		"w0 = cmpxchg32_32(r10 - 8, w0, w2)\n"
		/* load_acquire u64: r2 = *(u64 *)(r10 - 8); store_release u32 */
		".byte 0xdb, 0xa2, 0xf8, 0xff, 0x00, 0x01, 0x00, 0x00\n"
		".byte 0xc3, 0x2a, 0xf8, 0xff, 0x10, 0x01, 0x00, 0x00\n"
		::: "r0", "r1", "r2", "memory");
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
