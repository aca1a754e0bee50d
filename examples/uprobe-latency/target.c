// The uprobe-latency example's target: calls tsbpf_work(usecs) as told, each call spinning
// for that many microseconds. Usage: target <usecs> <times> [<usecs> <times>]...
// Prints the number of calls, then each call's duration in ns as the caller saw it: the probes'
// window lies inside the caller's, so a traced duration is at least <usecs> and at most that.
// Built by the example's test: gcc -O1 -o target target.c
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* noinline and visible: the uprobe attaches to this symbol. */
__attribute__((noinline)) int tsbpf_work(long usecs)
{
	long long end = now_ns() + usecs * 1000LL;
	int spins = 0;
	while (now_ns() < end)
		spins++;
	return spins;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: %s <usecs> <times> [<usecs> <times>]...\n", argv[0]);
		return 2;
	}
	long total = 0;
	for (int i = 1; i + 1 < argc; i += 2)
		total += atol(argv[i + 1]);
	long long *took = calloc(total > 0 ? total : 1, sizeof(*took));
	if (!took)
		return 1;
	long calls = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		long usecs = atol(argv[i]), times = atol(argv[i + 1]);
		for (long n = 0; n < times; n++, calls++) {
			long long start = now_ns();
			tsbpf_work(usecs);
			took[calls] = now_ns() - start;
		}
	}
	printf("%ld calls\n", calls);
	for (long n = 0; n < calls; n++)
		printf("%lld%c", took[n], n + 1 < calls ? ' ' : '\n');
	free(took);
	return 0;
}
