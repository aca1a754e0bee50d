/*
 * The C floor for the core rows of `npm run bench`: map element operations, batch lookup,
 * naive iteration, and program test runs, each a prepared attr passed to bpf(2).
 * Cases: array_lookup, hash_lookup, hash_update, batch_lookup, iterate_naive, prog_test_run.
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
  struct elem a = { .map_fd = (uint32_t)fd, .key = (uint64_t)(uintptr_t)&key, .value = (uint64_t)(uintptr_t)&value };
  for (key = 0; key < n; key++) {
    value = key;
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) < 0) die("fill");
  }
}

/* iterations lookups of key 0 (array) or keys cycling over `entries` (hash). */
static void lookups(int fd, long iterations, uint32_t entries, int cmd) {
  uint32_t key = 0; uint64_t value = 1;
  struct elem a = { .map_fd = (uint32_t)fd, .key = (uint64_t)(uintptr_t)&key, .value = (uint64_t)(uintptr_t)&value };
  for (int pass = 0; pass < 2; pass++) { /* pass 0 warms up */
    long n = pass == 0 ? iterations / 10 : iterations;
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
      key = (uint32_t)(i % entries);
      if (sys_bpf(cmd, &a, sizeof(a)) < 0) die("element op");
    }
    if (pass == 1) report(now_ns() - t0, (uint64_t)n);
  }
}

/* `passes` full reads of the map with BPF_MAP_LOOKUP_BATCH, `per_call` elements per call. */
static void batch_lookup(int fd, long passes, uint32_t entries, uint32_t per_call) {
  uint32_t *keys = malloc(per_call * 4); uint64_t *values = malloc(per_call * 8);
  uint32_t token_in, token_out;
  uint64_t units = 0, t0 = 0;
  for (long pass = -1; pass < passes; pass++) { /* pass -1 warms up */
    if (pass == 0) t0 = now_ns();
    int first = 1;
    for (;;) {
      struct batch a = {
        .in_batch = first ? 0 : (uint64_t)(uintptr_t)&token_in, .out_batch = (uint64_t)(uintptr_t)&token_out,
        .keys = (uint64_t)(uintptr_t)keys, .values = (uint64_t)(uintptr_t)values, .count = per_call, .map_fd = (uint32_t)fd,
      };
      long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a));
      if (r < 0 && errno != ENOENT) die("BPF_MAP_LOOKUP_BATCH");
      if (pass >= 0) units += a.count;
      if (r < 0) break;
      token_in = token_out;
      first = 0;
    }
  }
  if (units != (uint64_t)passes * entries) { fprintf(stderr, "batch read %llu of %llu\n", (unsigned long long)units, (unsigned long long)passes * entries); exit(1); }
  report(now_ns() - t0, units);
}

/* `passes` full iterations: BPF_MAP_GET_NEXT_KEY then BPF_MAP_LOOKUP_ELEM per element. */
static void iterate_naive(int fd, long passes) {
  uint32_t key, next; uint64_t value;
  uint64_t units = 0, t0 = 0;
  for (long pass = -1; pass < passes; pass++) {
    if (pass == 0) t0 = now_ns();
    struct elem nk = { .map_fd = (uint32_t)fd, .key = 0, .value = (uint64_t)(uintptr_t)&next };
    struct elem lk = { .map_fd = (uint32_t)fd, .key = (uint64_t)(uintptr_t)&next, .value = (uint64_t)(uintptr_t)&value };
    for (;;) {
      if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &nk, sizeof(nk)) < 0) {
        if (errno == ENOENT) break;
        die("BPF_MAP_GET_NEXT_KEY");
      }
      if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &lk, sizeof(lk)) < 0) die("BPF_MAP_LOOKUP_ELEM");
      key = next;
      nk.key = (uint64_t)(uintptr_t)&key;
      if (pass >= 0) units++;
    }
  }
  report(now_ns() - t0, units);
}

/* Test runs of a trivial XDP program (r0 = XDP_PASS; exit) on a 64-byte frame, repeat 1. */
static void prog_test_run(long iterations, uint32_t size) {
  static const uint64_t insns[2] = { 0x00000002000000b7ull, 0x0000000000000095ull };
  struct prog_load l;
  memset(&l, 0, sizeof(l));
  l.prog_type = PROG_XDP; l.insn_cnt = 2; l.insns = (uint64_t)(uintptr_t)insns; l.license = (uint64_t)(uintptr_t)"GPL";
  strcpy(l.prog_name, "c_bench");
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &l, sizeof(l));
  if (fd < 0) die("BPF_PROG_LOAD");
  uint8_t *in = calloc(1, size), *out = calloc(1, size + 4096);
  struct test_run a;
  for (int pass = 0; pass < 2; pass++) {
    long n = pass == 0 ? iterations / 10 : iterations;
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
      /* The same work as the TypeScript side: set the fields, run, read retval and data out. */
      memset(&a, 0, sizeof(a));
      a.prog_fd = (uint32_t)fd; a.data_in = (uint64_t)(uintptr_t)in; a.data_size_in = size;
      a.data_out = (uint64_t)(uintptr_t)out; a.data_size_out = size + 4096;
      if (sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) < 0) die("BPF_PROG_TEST_RUN");
      if (a.retval != 2 || a.data_size_out != size) { fprintf(stderr, "unexpected test run result\n"); exit(1); }
    }
    if (pass == 1) report(now_ns() - t0, (uint64_t)n);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s <case> <iterations> [entries]\n", argv[0]); return 2; }
  const char *c = argv[1];
  long iterations = atol(argv[2]);
  uint32_t entries = argc > 3 ? (uint32_t)atol(argv[3]) : 0;
  if (!strcmp(c, "array_lookup")) { lookups(map_create(MAP_ARRAY, 1), iterations, 1, BPF_MAP_LOOKUP_ELEM); }
  else if (!strcmp(c, "hash_lookup") || !strcmp(c, "hash_update")) {
    int fd = map_create(MAP_HASH, entries);
    fill(fd, entries);
    lookups(fd, iterations, entries, !strcmp(c, "hash_lookup") ? BPF_MAP_LOOKUP_ELEM : BPF_MAP_UPDATE_ELEM);
  } else if (!strcmp(c, "batch_lookup")) {
    int fd = map_create(MAP_HASH, entries);
    fill(fd, entries);
    batch_lookup(fd, iterations, entries, argc > 4 ? (uint32_t)atol(argv[4]) : 1000);
  } else if (!strcmp(c, "iterate_naive")) {
    int fd = map_create(MAP_HASH, entries);
    fill(fd, entries);
    iterate_naive(fd, iterations);
  } else if (!strcmp(c, "prog_test_run")) {
    prog_test_run(iterations, entries ? entries : 64);
  } else { fprintf(stderr, "unknown case %s\n", c); return 2; }
  return 0;
}
