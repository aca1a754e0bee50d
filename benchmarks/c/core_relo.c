// bench-ldflags: -lbpf
/*
 * The C reference for the CO-RE row of `npm run bench` (linked with Debian's libbpf for its BTF
 * parser only; tsbpf never uses libbpf). libbpf 1.1 does not export its CO-RE engine, so this
 * does the same work by hand the way libbpf does it: for every CO-RE record of the object's
 * .BTF.ext, find kernel candidates of the same kind and essential name by a linear scan of
 * vmlinux BTF (cached per local type, as libbpf caches), match the access string member by
 * member by name, and compute the value of the relocation kind.
 * Case (prints one report() line; vmlinux is parsed once, before timing, as tsbpf shares it):
 *   relocate <n>|serve <object.o>   n x (CO-RE pass over every record, caches cleared)
 */
#include "bench.h"
#include <bpf/btf.h>
#include <elf.h>

/* The bytes of section `name` of a little-endian ELF64 file (read whole into memory). */
static const uint8_t *elf_section(const char *path, const char *name, uint32_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) die("fopen");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n);
  if (fread(buf, 1, n, f) != (size_t)n) die("fread");
  fclose(f);
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
  const char *names = (const char *)buf + sh[eh->e_shstrndx].sh_offset;
  for (int i = 0; i < eh->e_shnum; i++) {
    if (!strcmp(names + sh[i].sh_name, name)) {
      *size = (uint32_t)sh[i].sh_size;
      return buf + sh[i].sh_offset;
    }
  }
  die(name);
  return NULL;
}

struct relo { uint32_t insn_off, type_id, access_off, kind; };
struct cands { int n; uint32_t ids[8]; };

struct state {
  struct btf *local, *kernel;
  struct relo *relos;
  int nrelos;
  struct cands *cache; /* by local type id */
  char *cached;
  uint32_t ntypes;
};

static size_t essential_len(const char *n) {
  size_t len = strlen(n);
  for (long i = (long)len - 5; i >= 0; i--)
    if (n[i] != '_' && n[i + 1] == '_' && n[i + 2] == '_' && n[i + 3] == '_' && n[i + 4] != '_') return (size_t)i + 1;
  return len;
}

static const struct btf_type *skip(const struct btf *b, uint32_t *id) {
  const struct btf_type *t = btf__type_by_id(b, *id);
  while (btf_is_mod(t) || btf_is_typedef(t)) { *id = t->type; t = btf__type_by_id(b, *id); }
  return t;
}

static struct cands *candidates(struct state *s, uint32_t local_id) {
  if (s->cached[local_id]) return &s->cache[local_id];
  struct cands *c = &s->cache[local_id];
  c->n = 0;
  const struct btf_type *lt = btf__type_by_id(s->local, local_id);
  const char *ln = btf__name_by_offset(s->local, lt->name_off);
  size_t ll = essential_len(ln);
  uint32_t n = btf__type_cnt(s->kernel);
  for (uint32_t id = 1; id < n; id++) {
    const struct btf_type *t = btf__type_by_id(s->kernel, id);
    if (btf_kind(t) != btf_kind(lt)) continue;
    const char *tn = btf__name_by_offset(s->kernel, t->name_off);
    if (!tn[0] || essential_len(tn) != ll || strncmp(tn, ln, ll)) continue;
    if (c->n < 8) c->ids[c->n++] = id;
  }
  s->cached[local_id] = 1;
  return c;
}

/* The value of relocation r against kernel type cand, or -1 when it does not match. */
static int64_t relocate_one(struct state *s, const struct relo *r, uint32_t cand) {
  const char *acc = btf__name_by_offset(s->local, r->access_off);
  if (r->kind >= 6 && r->kind <= 9) { /* type kinds */
    if (r->kind == 9) return btf__resolve_size(s->kernel, cand);
    return r->kind == 8 ? 1 : cand;
  }
  char *end;
  long idx = strtol(acc, &end, 10);
  uint32_t lid = r->type_id, kid = cand;
  const struct btf_type *lt = skip(s->local, &lid), *kt = skip(s->kernel, &kid);
  int64_t bits = idx * btf__resolve_size(s->kernel, kid) * 8;
  const struct btf_member *km = NULL;
  while (*end == ':') {
    idx = strtol(end + 1, &end, 10);
    const struct btf_member *lm = btf_members(lt) + idx;
    const char *name = btf__name_by_offset(s->local, lm->name_off);
    km = NULL;
    for (int i = 0; i < btf_vlen(kt); i++) {
      const struct btf_member *m = btf_members(kt) + i;
      if (!strcmp(btf__name_by_offset(s->kernel, m->name_off), name)) { km = m; bits += btf_member_bit_offset(kt, i); break; }
    }
    if (!km) return -1;
    lid = lm->type; kid = km->type;
    lt = skip(s->local, &lid); kt = skip(s->kernel, &kid);
  }
  int64_t size = btf__resolve_size(s->kernel, kid);
  switch (r->kind) {
  case 0: return bits / 8;
  case 1: return size;
  case 2: return 1;
  case 3: return btf_is_int(kt) && (btf_int_encoding(kt) & BTF_INT_SIGNED);
  case 4: return 64 - size * 8;
  case 5: return 64 - size * 8;
  }
  return -1;
}

static uint64_t loop(void *p, long iterations) {
  struct state *s = p;
  int64_t sum = 0;
  for (long it = 0; it < iterations; it++) {
    memset(s->cached, 0, s->ntypes);
    for (int i = 0; i < s->nrelos; i++) {
      struct cands *c = candidates(s, s->relos[i].type_id);
      for (int k = 0; k < c->n; k++) {
        int64_t v = relocate_one(s, &s->relos[i], c->ids[k]);
        if (v >= 0) { sum += v; break; }
      }
    }
  }
  if (sum == 0) die("no relocation applied");
  return (uint64_t)iterations;
}

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[1], "relocate")) {
    fprintf(stderr, "usage: %s relocate <n>|serve <object.o>\n", argv[0]);
    return 2;
  }
  static struct state s;
  s.local = btf__parse_elf(argv[3], NULL);
  if (!s.local) die("btf__parse_elf");
  s.kernel = btf__load_vmlinux_btf();
  if (!s.kernel) die("btf__load_vmlinux_btf");
  uint32_t size;
  const uint8_t *raw = elf_section(argv[3], ".BTF.ext", &size);
  uint32_t hdr = *(const uint32_t *)(raw + 4), off = *(const uint32_t *)(raw + 24), len = *(const uint32_t *)(raw + 28);
  const uint8_t *p = raw + hdr + off, *e = p + len;
  uint32_t rec = *(const uint32_t *)p;
  p += 4;
  s.relos = calloc(len / rec + 1, sizeof *s.relos);
  while (p < e) {
    uint32_t n = *(const uint32_t *)(p + 4);
    p += 8;
    for (uint32_t i = 0; i < n; i++, p += rec) memcpy(&s.relos[s.nrelos++], p, sizeof(struct relo));
  }
  s.ntypes = btf__type_cnt(s.local);
  s.cache = calloc(s.ntypes, sizeof *s.cache);
  s.cached = calloc(s.ntypes, 1);
  return bench_run(argv[2], loop, &s);
}
