/*
 * Shared helpers for the C reference programs of `npm run bench`.
 *
 * Each benchmarks/c/<name>.c is built by the harness into benchmarks/build/<name>. Two ways to
 * run a case:
 *   build/<name> <case> <iterations> [args...]   one shot: prepare, warm up, time one loop,
 *                                                print one report() line
 *   build/<name> <case> serve [args...]          persistent (rows with `persistent: true`):
 *                                                prepare once, print "ready", then for every
 *                                                line "<iterations>" on stdin time that many
 *                                                units and print one report() line
 * report() prints {"ns": <total ns>, "units": <units done>}; the harness divides ns by units
 * and compares it with the TypeScript side of the same row. A case written as a
 * bench_loop can offer both with bench_run().
 *
 * Only UAPI facts and libc here: struct layouts are written out by hand (Debian's linux/bpf.h
 * is 6.1-era), so these programs build anywhere gcc does.
 */
#ifndef TSBPF_BENCH_H
#define TSBPF_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* bpf(2) with a prepared attr: what every row measures against. */
static inline long sys_bpf(int cmd, void *attr, unsigned int size) {
  return syscall(__NR_bpf, cmd, attr, size);
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Print the result line the harness reads. */
static inline void report(uint64_t ns, uint64_t units) {
  printf("{\"ns\": %llu, \"units\": %llu}\n", (unsigned long long)ns, (unsigned long long)units);
}

/* Exit with a message naming the step and errno. */
static inline void die(const char *step) {
  fprintf(stderr, "%s: %s\n", step, strerror(errno));
  exit(1);
}

/* A loop of a case: do `iterations` units of work on `state`, return how many were done. */
typedef uint64_t (*bench_loop)(void *state, long iterations);

/* Time one call of loop and print its report() line. */
static inline void bench_time(bench_loop loop, void *state, long iterations) {
  uint64_t t0 = now_ns();
  uint64_t units = loop(state, iterations);
  uint64_t dt = now_ns() - t0;
  report(dt, units);
  fflush(stdout);
}

/*
 * Run a prepared case in the mode argv asked for: `serve` (persistent: answer every line of
 * stdin with a timed loop) or a number (one shot, after a warm-up of a tenth).
 */
static inline int bench_run(const char *mode, bench_loop loop, void *state) {
  if (!strcmp(mode, "serve")) {
    char line[64];
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
      long n = atol(line);
      if (n <= 0) { fprintf(stderr, "bad iteration count: %s", line); return 2; }
      bench_time(loop, state, n);
    }
    return 0;
  }
  long n = atol(mode);
  if (n <= 0) { fprintf(stderr, "bad iteration count: %s\n", mode); return 2; }
  loop(state, n / 10 > 0 ? n / 10 : 1); /* warm up */
  bench_time(loop, state, n);
  return 0;
}

#endif
