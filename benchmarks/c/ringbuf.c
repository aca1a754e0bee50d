/*
 * The C floor for the ring buffer rows of `npm run bench`: draining a BPF ring buffer through
 * mmap, as libbpf's ring_buffer__consume does, with no syscall in the loop.
 *
 *   ringbuf drain <iterations>|serve <ring_bytes>
 *
 * Prepare: a ringbuf map of <ring_bytes>, filled once by a trivial XDP program run by
 * BPF_PROG_TEST_RUN with repeat (one 16-byte bpf_ringbuf_output per run, BPF_RB_NO_WAKEUP).
 * Loop (record): move the consumer position back by n records (the kernel leaves consumed
 * records in place, headers included), then drain them: acquire-load the producer position
 * and each header, skip BUSY/DISCARD, read the record's first u32, release-store the consumer
 * position after each record. The TypeScript row does the same through RingBufReader.poll().
 */
#include "bench.h"
#include <sys/mman.h>

enum { BPF_MAP_CREATE = 0, BPF_PROG_LOAD = 5, BPF_PROG_TEST_RUN = 10 };
enum { MAP_RINGBUF = 27, PROG_XDP = 6, FUNC_RINGBUF_OUTPUT = 130 };
#define BUSY_BIT (1u << 31)
#define DISCARD_BIT (1u << 30)
#define RECORD 16
#define SPAN 24 /* 8-byte header + 16 bytes */

struct map_create { uint32_t map_type, key_size, value_size, max_entries, map_flags; uint8_t rest[76]; };
struct prog_load {
  uint32_t prog_type, insn_cnt; uint64_t insns, license; uint32_t log_level, log_size; uint64_t log_buf;
  uint32_t kern_version, prog_flags; char prog_name[16]; uint8_t rest[104];
};
struct test_run {
  uint32_t prog_fd, retval, data_size_in, data_size_out; uint64_t data_in, data_out;
  uint32_t repeat, duration, ctx_size_in, ctx_size_out; uint64_t ctx_in, ctx_out;
  uint32_t flags, cpu, batch_size, pad;
};
struct insn { uint8_t code; uint8_t regs; int16_t off; int32_t imm; };
#define PTR(p) ((uint64_t)(uintptr_t)(p))
#define INSN(c, dst, src, o, i) ((struct insn){ (c), (uint8_t)((dst) | ((src) << 4)), (o), (i) })

struct state {
  uint64_t *consumer;          /* consumer page (rw) */
  const uint64_t *producer;    /* producer page (ro) */
  const uint8_t *data;         /* data area, mapped twice */
  uint64_t mask;
  uint64_t records;            /* records in the ring after the fill */
  uint64_t sum;
};

static uint64_t drain_loop(void *p, long n) {
  struct state *s = p;
  if ((uint64_t)n > s->records) n = (long)s->records;
  uint64_t prod = __atomic_load_n(s->producer, __ATOMIC_ACQUIRE);
  uint64_t cons = prod - (uint64_t)n * SPAN;
  __atomic_store_n(s->consumer, cons, __ATOMIC_RELEASE);
  uint64_t done = 0, sum = s->sum;
  while (cons < prod) {
    const uint8_t *rec = s->data + (cons & s->mask);
    uint32_t len = __atomic_load_n((const uint32_t *)rec, __ATOMIC_ACQUIRE);
    if (len & BUSY_BIT) break;
    cons += ((len & ~(BUSY_BIT | DISCARD_BIT)) + 8 + 7) & ~7ull;
    if (!(len & DISCARD_BIT)) {
      sum += *(const uint32_t *)(rec + 8);
      done++;
    }
    __atomic_store_n(s->consumer, cons, __ATOMIC_RELEASE);
  }
  s->sum = sum;
  return done;
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[1], "drain")) { fprintf(stderr, "usage: %s drain <iterations>|serve <ring_bytes>\n", argv[0]); return 2; }
  uint32_t size = (uint32_t)atol(argv[3]);
  long page = sysconf(_SC_PAGESIZE);

  struct map_create mc; memset(&mc, 0, sizeof(mc));
  mc.map_type = MAP_RINGBUF; mc.max_entries = size;
  int map = (int)sys_bpf(BPF_MAP_CREATE, &mc, sizeof(mc));
  if (map < 0) die("BPF_MAP_CREATE");

  struct insn prog[] = {
    INSN(0x7a, 10, 0, -16, 1),            /* *(u64 *)(r10 - 16) = 1 */
    INSN(0x7a, 10, 0, -8, 2),             /* *(u64 *)(r10 - 8) = 2 */
    INSN(0x18, 1, 1, 0, map), INSN(0, 0, 0, 0, 0), /* r1 = map (BPF_PSEUDO_MAP_FD) */
    INSN(0xbf, 2, 10, 0, 0),              /* r2 = r10 */
    INSN(0x07, 2, 0, 0, -16),             /* r2 += -16 */
    INSN(0xb7, 3, 0, 0, RECORD),          /* r3 = 16 */
    INSN(0xb7, 4, 0, 0, 1),               /* r4 = BPF_RB_NO_WAKEUP */
    INSN(0x85, 0, 0, 0, FUNC_RINGBUF_OUTPUT),
    INSN(0xb7, 0, 0, 0, 2),               /* r0 = XDP_PASS */
    INSN(0x95, 0, 0, 0, 0),               /* exit */
  };
  struct prog_load pl; memset(&pl, 0, sizeof(pl));
  pl.prog_type = PROG_XDP; pl.insn_cnt = sizeof(prog) / sizeof(prog[0]); pl.insns = PTR(prog); pl.license = PTR("GPL");
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &pl, sizeof(pl));
  if (fd < 0) die("BPF_PROG_LOAD");

  struct state *s = calloc(1, sizeof(*s));
  s->records = size / SPAN;
  uint8_t pkt[64] = { 0 };
  struct test_run tr; memset(&tr, 0, sizeof(tr));
  tr.prog_fd = (uint32_t)fd; tr.data_in = PTR(pkt); tr.data_size_in = sizeof(pkt); tr.repeat = (uint32_t)s->records;
  if (sys_bpf(BPF_PROG_TEST_RUN, &tr, sizeof(tr)) < 0) die("BPF_PROG_TEST_RUN");

  s->consumer = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, map, 0);
  if (s->consumer == MAP_FAILED) die("mmap consumer");
  const uint8_t *prod = mmap(NULL, (size_t)page + 2 * (size_t)size, PROT_READ, MAP_SHARED, map, page);
  if (prod == MAP_FAILED) die("mmap producer");
  s->producer = (const uint64_t *)prod;
  s->data = prod + page;
  s->mask = size - 1;
  if (*s->producer != s->records * SPAN) { fprintf(stderr, "fill: producer at %llu\n", (unsigned long long)*s->producer); return 1; }
  return bench_run(argv[2], drain_loop, s);
}
