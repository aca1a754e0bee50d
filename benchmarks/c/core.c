/*
 * The C floor for the core rows of `npm run bench`: map element operations, batch lookup,
 * naive iteration, and program test runs, each a prepared attr passed to bpf(2).
 *
 *   core <case> <iterations>|serve [entries] [per_call]
 *
 * Cases (units in parentheses; every loop continues where the previous one stopped):
 *   array_lookup               lookups of key 0 in a 1-entry u32 -> u64 array (op)
 *   hash_lookup <entries>      lookups cycling over the keys of a full hash (op)
 *   hash_update <entries>      updates of existing keys, cycling (op)
 *   batch_lookup <entries> <per_call>   BPF_MAP_LOOKUP_BATCH calls, restarting at the end (element)
 *   iterate_naive <entries>    GET_NEXT_KEY + LOOKUP_ELEM per element, restarting at the end (element)
 *   prog_test_run [size]       BPF_PROG_TEST_RUN of a trivial XDP program with data out (call)
 */
#include "bench.h"

enum {
  BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2, BPF_MAP_GET_NEXT_KEY = 4,
  BPF_PROG_LOAD = 5, BPF_PROG_TEST_RUN = 10, BPF_MAP_LOOKUP_BATCH = 24,
};
enum { MAP_HASH = 1, MAP_ARRAY = 2, PROG_XDP = 6 };

/* The union bpf_attr parts used here (Linux 6.18 layouts). */
struct map_create { uint32_t map_type, key_size, value_size, max_entries, map_flags; uint8_t rest[76]; };
struct elem { uint32_t map_fd, pad; uint64_t key, value, flags; };
struct batch { uint64_t in_batch, out_batch, keys, values; uint32_t count, map_fd; uint64_t elem_flags, flags; };
struct prog_load {
  uint32_t prog_type, insn_cnt; uint64_t insns, license; uint32_t log_level, log_size; uint64_t log_buf;
  uint32_t kern_version, prog_flags; char prog_name[16]; uint8_t rest[104];
};
struct test_run {
  uint32_t prog_fd, retval, data_size_in, data_size_out; uint64_t data_in, data_out;
  uint32_t repeat, duration, ctx_size_in, ctx_size_out; uint64_t ctx_in, ctx_out;
  uint32_t flags, cpu, batch_size, pad;
};

#define PTR(p) ((uint64_t)(uintptr_t)(p))

static int map_create(uint32_t type, uint32_t entries) {
  struct map_create a;
  memset(&a, 0, sizeof(a));
  a.map_type = type; a.key_size = 4; a.value_size = 8; a.max_entries = entries;
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
  if (fd < 0) die("BPF_MAP_CREATE");
  return fd;
}

static void fill(int fd, uint32_t n) {
  uint32_t key; uint64_t value;
  struct elem a = { .map_fd = (uint32_t)fd, .key = PTR(&key), .value = PTR(&value) };
  for (key = 0; key < n; key++) {
    value = key;
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) < 0) die("fill");
  }
}

/* Element operations: lookups or updates, keys cycling over `entries`. */
struct elem_state { int cmd; uint32_t entries; uint32_t next; uint32_t key; uint64_t value; struct elem attr; };

static uint64_t elem_loop(void *p, long n) {
  struct elem_state *s = p;
  for (long i = 0; i < n; i++) {
    s->key = s->next;
    if (++s->next == s->entries) s->next = 0;
    if (sys_bpf(s->cmd, &s->attr, sizeof(s->attr)) < 0) die("element op");
  }
  return (uint64_t)n;
}

static struct elem_state *elem_prepare(int fd, uint32_t entries, int cmd) {
  struct elem_state *s = calloc(1, sizeof(*s));
  s->cmd = cmd; s->entries = entries; s->value = 1;
  s->attr.map_fd = (uint32_t)fd; s->attr.key = PTR(&s->key); s->attr.value = PTR(&s->value);
  return s;
}

/* Batch lookups of `per_call` elements, restarting from the first element at the end. */
struct batch_state { int fd; uint32_t per_call; int first; uint32_t token_in, token_out; uint32_t *keys; uint64_t *values; };

static uint64_t batch_loop(void *p, long calls) {
  struct batch_state *s = p;
  uint64_t units = 0;
  for (long i = 0; i < calls; i++) {
    struct batch a = {
      .in_batch = s->first ? 0 : PTR(&s->token_in), .out_batch = PTR(&s->token_out),
      .keys = PTR(s->keys), .values = PTR(s->values), .count = s->per_call, .map_fd = (uint32_t)s->fd,
    };
    long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a));
    if (r < 0 && errno != ENOENT) die("BPF_MAP_LOOKUP_BATCH");
    units += a.count;
    if (r < 0) { s->first = 1; continue; } /* the end: start again */
    s->token_in = s->token_out;
    s->first = 0;
  }
  return units;
}

/* Naive iteration: GET_NEXT_KEY then LOOKUP_ELEM per element, restarting at the end. */
struct iter_state { uint32_t key, next; uint64_t value; struct elem nk, lk; };

static uint64_t iter_loop(void *p, long n) {
  struct iter_state *s = p;
  for (long i = 0; i < n; i++) {
    if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &s->nk, sizeof(s->nk)) < 0) {
      if (errno != ENOENT) die("BPF_MAP_GET_NEXT_KEY");
      s->nk.key = 0; /* the end: NULL key asks for the first */
      i--;
      continue;
    }
    if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &s->lk, sizeof(s->lk)) < 0) die("BPF_MAP_LOOKUP_ELEM");
    s->key = s->next;
    s->nk.key = PTR(&s->key);
  }
  return (uint64_t)n;
}

/* Test runs of a trivial XDP program (r0 = XDP_PASS; exit) with data in and out. */
struct run_state { int fd; uint32_t size; uint8_t *in, *out; struct test_run attr; };

static uint64_t run_loop(void *p, long n) {
  struct run_state *s = p;
  for (long i = 0; i < n; i++) {
    /* The same work as the TypeScript side: set the fields, run, check retval and size. */
    struct test_run *a = &s->attr;
    memset(a, 0, sizeof(*a));
    a->prog_fd = (uint32_t)s->fd; a->data_in = PTR(s->in); a->data_size_in = s->size;
    a->data_out = PTR(s->out); a->data_size_out = s->size + 4096;
    if (sys_bpf(BPF_PROG_TEST_RUN, a, sizeof(*a)) < 0) die("BPF_PROG_TEST_RUN");
    if (a->retval != 2 || a->data_size_out != s->size) { fprintf(stderr, "unexpected test run result\n"); exit(1); }
  }
  return (uint64_t)n;
}

static struct run_state *run_prepare(uint32_t size) {
  static const uint64_t insns[2] = { 0x00000002000000b7ull, 0x0000000000000095ull };
  struct prog_load l;
  memset(&l, 0, sizeof(l));
  l.prog_type = PROG_XDP; l.insn_cnt = 2; l.insns = PTR(insns); l.license = PTR("GPL");
  strcpy(l.prog_name, "c_bench");
  struct run_state *s = calloc(1, sizeof(*s));
  s->fd = (int)sys_bpf(BPF_PROG_LOAD, &l, sizeof(l));
  if (s->fd < 0) die("BPF_PROG_LOAD");
  s->size = size;
  s->in = calloc(1, size);
  s->out = calloc(1, size + 4096);
  return s;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s <case> <iterations>|serve [entries] [per_call]\n", argv[0]); return 2; }
  const char *c = argv[1];
  uint32_t entries = argc > 3 ? (uint32_t)atol(argv[3]) : 0;
  if (!strcmp(c, "array_lookup")) {
    return bench_run(argv[2], elem_loop, elem_prepare(map_create(MAP_ARRAY, 1), 1, BPF_MAP_LOOKUP_ELEM));
  }
  if (!strcmp(c, "hash_lookup") || !strcmp(c, "hash_update")) {
    int fd = map_create(MAP_HASH, entries);
    fill(fd, entries);
    int cmd = !strcmp(c, "hash_lookup") ? BPF_MAP_LOOKUP_ELEM : BPF_MAP_UPDATE_ELEM;
    return bench_run(argv[2], elem_loop, elem_prepare(fd, entries, cmd));
  }
  if (!strcmp(c, "batch_lookup")) {
    struct batch_state *s = calloc(1, sizeof(*s));
    s->fd = map_create(MAP_HASH, entries);
    fill(s->fd, entries);
    s->per_call = argc > 4 ? (uint32_t)atol(argv[4]) : 1000;
    s->first = 1;
    s->keys = malloc(s->per_call * 4);
    s->values = malloc(s->per_call * 8);
    return bench_run(argv[2], batch_loop, s);
  }
  if (!strcmp(c, "iterate_naive")) {
    int fd = map_create(MAP_HASH, entries);
    fill(fd, entries);
    struct iter_state *s = calloc(1, sizeof(*s));
    s->nk = (struct elem){ .map_fd = (uint32_t)fd, .key = 0, .value = PTR(&s->next) };
    s->lk = (struct elem){ .map_fd = (uint32_t)fd, .key = PTR(&s->next), .value = PTR(&s->value) };
    return bench_run(argv[2], iter_loop, s);
  }
  if (!strcmp(c, "prog_test_run")) return bench_run(argv[2], run_loop, run_prepare(entries ? entries : 64));
  fprintf(stderr, "unknown case %s\n", c);
  return 2;
}
