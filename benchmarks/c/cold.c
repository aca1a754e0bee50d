// bench-ldflags: -lbpf
/*
 * The C side of the cold-start rows of `npm run bench` (benchmarks/suites/cold.ts): work done
 * once in a fresh process, as a CLI run or a short script does it. Linked with Debian's libbpf
 * for this reference only; tsbpf itself never uses libbpf.
 * Cases (each prints one report() line):
 *   first <n> <path>...   n fresh processes (fork, libbpf untouched in the parent), each timing
 *                         its own first bpf_object__open_file + bpf_object__load + close of
 *                         every path; the sum of those in-process times over n
 *   exec <n> <cmd> [arg...]  n x (fork + exec + wait) of a command, whole-process wall time
 *   load1 <path>          one open + load + close, then exit (what `exec` runs as "libbpf as a
 *                         command")
 */
#include "bench.h"
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/wait.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args) {
  (void)level; (void)fmt; (void)args;
  return 0;
}

static void open_load(const char *path) {
  struct bpf_object *obj = bpf_object__open_file(path, NULL);
  if (!obj) die("bpf_object__open_file");
  if (bpf_object__load(obj)) die("bpf_object__load");
  bpf_object__close(obj);
}

static uint64_t first(long n, int npaths, char **paths) {
  uint64_t total = 0;
  for (long i = 0; i < n; i++) {
    int fds[2];
    if (pipe(fds)) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(fds[0]);
      libbpf_set_print(quiet);
      uint64_t t0 = now_ns();
      for (int p = 0; p < npaths; p++) open_load(paths[p]);
      uint64_t dt = now_ns() - t0;
      if (write(fds[1], &dt, sizeof dt) != sizeof dt) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    uint64_t dt = 0;
    if (read(fds[0], &dt, sizeof dt) != sizeof dt) die("child of first");
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) die("child of first exited badly");
    total += dt;
  }
  return total;
}

static uint64_t exec_n(long n, char **argv) {
  uint64_t total = 0;
  for (long i = 0; i < n; i++) {
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, 1);
      execvp(argv[0], argv);
      _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    total += now_ns() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
      fprintf(stderr, "%s exited with status %d\n", argv[0], status);
      exit(1);
    }
  }
  return total;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "load1")) {
    libbpf_set_print(quiet);
    open_load(argv[2]);
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s first <n> <path>... | exec <n> <cmd> [arg...] | load1 <path>\n", argv[0]);
    return 2;
  }
  long n = atol(argv[2]);
  if (n <= 0) { fprintf(stderr, "bad iteration count: %s\n", argv[2]); return 2; }
  if (!strcmp(argv[1], "first")) report(first(n, argc - 3, argv + 3), (uint64_t)n);
  else if (!strcmp(argv[1], "exec")) report(exec_n(n, argv + 3), (uint64_t)n);
  else { fprintf(stderr, "unknown case %s\n", argv[1]); return 2; }
  return 0;
}
