// bench-ldflags: -lbpf
/*
 * The libbpf reference for the BTF rows of `npm run bench` (linked with Debian's libbpf for
 * this reference only; tsbpf itself never uses libbpf).
 * Cases (each prints one report() line):
 *   parse_find <n> [path]   n x (btf__parse + btf__find_by_name_kind("task_struct", STRUCT))
 *   parse <n> [path]        n x btf__parse (what the full-walk row is compared with)
 *   walk <n> [path]         n x (btf__parse + btf__type_by_id and btf__name_by_offset for every type)
 */
#include "bench.h"
#include <bpf/btf.h>

static const char *path_arg(int argc, char **argv) {
  return argc > 3 ? argv[3] : "/sys/kernel/btf/vmlinux";
}

static uint64_t once(const char *c, const char *path) {
  uint64_t t0 = now_ns();
  struct btf *btf = btf__parse(path, NULL);
  if (!btf) die("btf__parse");
  if (!strcmp(c, "parse_find")) {
    if (btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT) < 0) die("btf__find_by_name_kind");
  } else if (!strcmp(c, "walk")) {
    unsigned long sum = 0;
    unsigned n = btf__type_cnt(btf);
    for (unsigned id = 1; id < n; id++) {
      const struct btf_type *t = btf__type_by_id(btf, id);
      sum += strlen(btf__name_by_offset(btf, t->name_off));
    }
    if (sum == 0) die("walk");
  }
  uint64_t dt = now_ns() - t0;
  btf__free(btf);
  return dt;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s parse_find|parse|walk <n> [path]\n", argv[0]);
    return 2;
  }
  const char *c = argv[1];
  long n = atol(argv[2]);
  const char *path = path_arg(argc, argv);
  if (strcmp(c, "parse_find") && strcmp(c, "parse") && strcmp(c, "walk")) {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  once(c, path); /* warm up (page cache, allocator) */
  uint64_t total = 0;
  for (long i = 0; i < n; i++) total += once(c, path);
  report(total, (uint64_t)n);
  return 0;
}
