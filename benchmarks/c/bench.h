/*
 * Shared helpers for the C reference programs of `npm run bench`.
 *
 * Each benchmarks/c/<name>.c is built by the harness into benchmarks/build/<name> and run as
 *   build/<name> <case> <iterations> [args...]
 * A case prepares its state (untimed), runs its loop once untimed to warm up, times the loop,
 * and prints one JSON line with report(): {"ns": <total ns>, "units": <units done>}.
 * The harness divides ns by units and compares it with the TypeScript side of the same row.
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

#endif
