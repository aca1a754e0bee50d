/*
 * The producer of the reader benchmarks (benchmarks/readers.ts): calls getppid(2) in a tight
 * loop, where bpf/readers/stream.o's tracepoint turns each call into one 16-byte record.
 *
 *   stream_producer <calls per second, 0 = as fast as possible> <calls>
 *
 * Waits for a line on stdin (the reader has armed the program for this pid by then), makes the
 * calls (paced ones by spinning on CLOCK_MONOTONIC until each call's time), and prints
 * {"calls": n, "ns": elapsed}.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: stream_producer <calls per second, 0 = unpaced> <calls>\n");
    return 2;
  }
  double rate = atof(argv[1]);
  long calls = atol(argv[2]);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 1;
  uint64_t start = now_ns();
  if (rate > 0) {
    double step = 1e9 / rate;
    for (long i = 0; i < calls; i++) {
      uint64_t due = start + (uint64_t)(i * step);
      while (now_ns() < due) {
      }
      syscall(SYS_getppid);
    }
  } else {
    for (long i = 0; i < calls; i++) syscall(SYS_getppid);
  }
  printf("{\"calls\": %ld, \"ns\": %llu}\n", calls, (unsigned long long)(now_ns() - start));
  return 0;
}
