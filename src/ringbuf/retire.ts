/**
 * Safe unmapping of memory that JS views may still point at. Readers hand out DataViews and
 * Uint8Arrays over mmapped ring memory; a caller who keeps one past close() must not crash the
 * process. So close() does not munmap: it replaces the pages, at the same address, with an
 * anonymous zero-filled private mapping (releasing the ring's pages and its reference on the
 * map at once), and the address range is unmapped only when the ArrayBuffer is garbage.
 */
import { cancelUnmapWhenGarbage, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, mmap, munmap, PROT_READ, PROT_WRITE, unmapWhenGarbage, type Mapping } from "../sys/libc.js";

/**
 * Unmap `m` once its ArrayBuffer is garbage, for a reader dropped without close(): the
 * buffer is reachable from the reader and from every view it handed out, so this runs only
 * when none is left. Call once per mapping, right after mmap.
 */
export function trackMapping(m: Mapping): void {
  unmapWhenGarbage(m);
}

/** Release `m`'s pages now; a stale view over it reads zeros (and writes go nowhere) until it is collected, then the range is unmapped. */
export function retireMapping(m: Mapping): void {
  try {
    mmap(m.length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0, m.address);
  } catch {
    cancelUnmapWhenGarbage(m);
    munmap(m); // could not cover the range: unmap it (views over it must then not be used)
  }
  // Still tracked (trackMapping): the replacement range is unmapped when the buffer is garbage.
}
