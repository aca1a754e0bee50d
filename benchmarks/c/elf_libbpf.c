// bench-ldflags: -lbpf
/*
 * The libbpf reference for the ELF rows of `npm run bench` (linked with Debian's libbpf for
 * this reference only; tsbpf itself never uses libbpf).
 * Cases (each prints one report() line):
 *   open <n> <path>   n x (bpf_object__open_file + bpf_object__close), all timed
 *   load <n> <path>   n x (bpf_object__load + bpf_object__close) timed; each open untimed
 */
#include "bench.h"
#include <bpf/libbpf.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args) {
  (void)level; (void)fmt; (void)args;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s open|load <n> <path>\n", argv[0]);
    return 2;
  }
  libbpf_set_print(quiet);
  const char *c = argv[1];
  long n = atol(argv[2]);
  const char *path = argv[3];
  int load = !strcmp(c, "load");
  if (!load && strcmp(c, "open")) {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  /* warm up: page cache, allocator, libbpf's feature probes */
  struct bpf_object *w = bpf_object__open_file(path, NULL);
  if (!w) die("bpf_object__open_file");
  if (load && bpf_object__load(w)) die("bpf_object__load");
  bpf_object__close(w);
  uint64_t total = 0;
  for (long i = 0; i < n; i++) {
    uint64_t t0 = now_ns();
    struct bpf_object *obj = bpf_object__open_file(path, NULL);
    if (!obj) die("bpf_object__open_file");
    if (load) {
      t0 = now_ns();
      if (bpf_object__load(obj)) die("bpf_object__load");
    }
    bpf_object__close(obj);
    total += now_ns() - t0;
  }
  report(total, (uint64_t)n);
  return 0;
}
