// bench-ldflags: -lbpf
/*
 * The libbpf reference of the reader benchmarks (benchmarks/readers.ts): loads
 * bpf/readers/stream.o with libbpf, attaches its ring buffer or perf producer, starts the
 * producer process, and reads with ring_buffer__poll / perf_buffer__poll until the producer is
 * done and the rings are empty, as a C tracer would.
 *
 *   stream_libbpf <ringbuf|perf> <object> <producer> <calls per second> <calls> <perf pages> <producer cpu>
 *
 * Prints {"records", "lost" (perf: PERF_RECORD_LOST samples), "produced", "dropped" (the
 * program's counters), "cpuNs" (getrusage of this process from "go" to the end), "wallNs"}.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t records, lost_samples;

static int on_ring(void *ctx, void *data, size_t size) {
  (void)ctx; (void)data; (void)size;
  records++;
  return 0;
}
static void on_sample(void *ctx, int cpu, void *data, __u32 size) {
  (void)ctx; (void)cpu; (void)data; (void)size;
  records++;
}
static void on_lost(void *ctx, int cpu, __u64 n) {
  (void)ctx; (void)cpu;
  lost_samples += n;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: stream_libbpf <ringbuf|perf> <object> <producer> <rate> <calls> <perf pages> <producer cpu>\n");
    return 2;
  }
  int perf = strcmp(argv[1], "perf") == 0;
  libbpf_set_print(NULL);
  struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
  if (!obj) { perror("open"); return 1; }
  // Load only the program this run uses.
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj)
    bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), perf ? "perf_getppid" : "rb_getppid") == 0);
  if (bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
  prog = bpf_object__find_program_by_name(obj, perf ? "perf_getppid" : "rb_getppid");

  int to_child[2], from_child[2];
  if (pipe(to_child) || pipe(from_child)) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(argv[7]), &set);
    sched_setaffinity(0, sizeof set, &set);
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    execl(argv[3], argv[3], argv[4], argv[5], (char *)NULL);
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  __u32 zero = 0, tgid = (__u32)pid;
  bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "config"), &zero, &tgid, BPF_ANY);
  struct bpf_link *link = bpf_program__attach(prog);
  if (!link) { fprintf(stderr, "attach failed\n"); return 1; }

  struct ring_buffer *rb = NULL;
  struct perf_buffer *pb = NULL;
  if (perf) pb = perf_buffer__new(bpf_object__find_map_fd_by_name(obj, "events"), atoi(argv[6]), on_sample, on_lost, NULL, NULL);
  else rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "rb"), on_ring, NULL, NULL);
  if (!rb && !pb) { fprintf(stderr, "reader failed\n"); return 1; }

  uint64_t cpu0 = cpu_ns(), wall0 = now_ns();
  if (write(to_child[1], "go\n", 3) != 3) return 1;
  int status;
  for (;;) {
    if (perf) perf_buffer__poll(pb, 100);
    else ring_buffer__poll(rb, 100);
    if (waitpid(pid, &status, WNOHANG) == pid) break;
  }
  // The producer is done: take what is left.
  for (int quiet = 0; quiet < 3;) {
    uint64_t before = records + lost_samples;
    if (perf) perf_buffer__poll(pb, 10);
    else ring_buffer__poll(rb, 10);
    quiet = records + lost_samples == before ? quiet + 1 : 0;
  }
  uint64_t cpu = cpu_ns() - cpu0, wall = now_ns() - wall0;

  // The program's counters, from its .bss (one array element: produced, dropped).
  uint64_t counters[2] = {0, 0};
  struct bpf_map *bss = NULL, *m;
  bpf_object__for_each_map(m, obj) if (strstr(bpf_map__name(m), ".bss")) bss = m;
  if (bss) bpf_map_lookup_elem(bpf_map__fd(bss), &zero, counters);
  printf("{\"records\": %llu, \"lost\": %llu, \"produced\": %llu, \"dropped\": %llu, \"cpuNs\": %llu, \"wallNs\": %llu}\n",
         (unsigned long long)records, (unsigned long long)lost_samples,
         (unsigned long long)counters[0], (unsigned long long)counters[1],
         (unsigned long long)cpu, (unsigned long long)wall);
  ring_buffer__free(rb);
  perf_buffer__free(pb);
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
