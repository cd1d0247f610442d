/**
 * V8 heap settings that keep a capture or an apply worker near its live memory. Measured on a 1,000,000-row
 * source transaction (ARCHITECTURE.md, "What a process holds in memory"), the live heap stays under ~100 MB,
 * yet with Node's defaults the resident size reached 600–700 MB: a young generation sized from the machine's
 * memory, and an old generation let to grow to several times what survived its last full collection.
 */
import v8 from 'node:v8';

/**
 * Flags that only count on node's command line (or NODE_OPTIONS), before the heap exists: package.json's
 * scripts, the `cdc` shebang and the Dockerfile pass them, and so does bench/apart.ts for its children.
 */
export const NODE_HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** Old-generation growth after a full collection, in percent of what survived it (V8 picks 10–300% itself). */
const HEAP_GROWING_PERCENT = 20;

/**
 * Caps the old generation's growth. V8 reads this flag at every full collection, so setting it at start-up works
 * (unlike the young generation's size); it is not allowed in NODE_OPTIONS. A value on node's command line wins.
 */
export function tuneHeap(): void {
  if (process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
