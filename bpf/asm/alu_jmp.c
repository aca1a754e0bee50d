// Every ALU/ALU64 operation (immediate and register forms), byte swaps, and every jump
// condition in 64-bit and 32-bit (jmp32, cpu v3) form, for the asm golden tests.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define OPAQUE(x) asm volatile("" : "+r"(x))

SEC("socket")
int alu64(struct __sk_buff *skb)
{
	__u64 a = skb->len, b = skb->protocol, c;
	__s64 s = (__s64)skb->mark;
	OPAQUE(a); OPAQUE(b);
	c = a + b; c += 7; c -= b; c -= 3; c *= b; c *= 5; OPAQUE(c);
	c /= b; c /= 3; c %= b; c %= 7; OPAQUE(c);
	c |= b; c |= 0x10; c &= b; c &= 0xff; c ^= b; c ^= 0x55; OPAQUE(c);
	c <<= b; c <<= 3; c >>= b; c >>= 2; OPAQUE(c);
	s >>= b; s >>= 3; s = -s; OPAQUE(s);
	c += s;
	c += __bpf_htons((__u16)a) + __bpf_htonl((__u32)b) + __bpf_cpu_to_be64(c);
	return c;
}

SEC("socket")
int alu32(struct __sk_buff *skb)
{
	__u32 a = skb->len, b = skb->protocol, c;
	__s32 s = (__s32)skb->mark;
	OPAQUE(a); OPAQUE(b);
	c = a + b; c += 7; c -= b; c -= 3; c *= b; c *= 5; OPAQUE(c);
	c /= b; c /= 3; c %= b; c %= 7; OPAQUE(c);
	c |= b; c |= 0x10; c &= b; c &= 0xff; c ^= b; c ^= 0x55; OPAQUE(c);
	c <<= b; c <<= 3; c >>= b; c >>= 2; OPAQUE(c);
	s >>= b; s >>= 3; s = -s; OPAQUE(s);
	return c + s;
}

#define JUMPS(T, a, b, r)                                                          \
	if ((T)a == (T)b) r += 1;  if ((T)a != (T)b) r += 2;                      \
	if ((T)a > (T)b) r += 3;   if ((T)a >= (T)b) r += 4;                      \
	if ((T)a < (T)b) r += 5;   if ((T)a <= (T)b) r += 6;                      \
	if ((T)a & (T)b) r += 7;                                                  \
	if ((T)a == 17) r += 8;    if ((T)a != 18) r += 9;                        \
	if ((T)a > 19) r += 10;    if ((T)a >= 20) r += 11;                       \
	if ((T)a < 21) r += 12;    if ((T)a <= 22) r += 13;                       \
	if ((T)a & 0x40) r += 14;                                                 \
	OPAQUE(r);

SEC("socket")
int jumps(struct __sk_buff *skb)
{
	__u64 a = skb->len, b = skb->protocol, r = 0;
	OPAQUE(a); OPAQUE(b);
	JUMPS(__u64, a, b, r)
	JUMPS(__s64, a, b, r)
	JUMPS(__u32, a, b, r)
	JUMPS(__s32, a, b, r)
	return r;
}

char LICENSE[] SEC("license") = "GPL";
