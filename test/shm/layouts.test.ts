import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineLayout, type Layout } from '../../src/shm/layout.ts';
import { BEV_HEADER } from '../../src/bufferevent/header.ts';
import { EVBUFFER_HEADER, CHAIN_HEADER } from '../../src/evbuffer/storage.ts';
import { LOCK_BLOCK } from '../../src/shm/arena.ts';
import { RLOCK_NUMBYTES } from '../../src/shm/rlock.ts';
import { GROUP_BLOCK } from '../../src/bufferevent/ratelim.ts';

/** Every shared struct with a layout definition: the doc comment's table must be the definition's. */
const layouts: Array<[Layout, string]> = [
  [BEV_HEADER, '../../src/bufferevent/header.ts'],
  [EVBUFFER_HEADER, '../../src/evbuffer/storage.ts'],
  [CHAIN_HEADER, '../../src/evbuffer/storage.ts'],
  [LOCK_BLOCK, '../../src/shm/arena.ts'],
  [GROUP_BLOCK, '../../src/bufferevent/ratelim.ts'],
];

describe('shared-memory layouts', () => {
  it.each(layouts.map(([l, f]) => [l.name, l, f] as const))('%s: the doc table in the source is the definition', (_n, layout, file) => {
    const src = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
    const table = layout.table().split('\n').map((l) => ` * ${l}`).join('\n');
    expect(src).toContain(table);
  });

  it.each(layouts.map(([l]) => [l.name, l] as const))('%s: fields are aligned, do not overlap, and fill the size', (_n, layout) => {
    let end = 0;
    for (const f of layout.fields) {
      expect(f.offset % f.bytes).toBe(0);
      expect(f.offset).toBe(end); // no gap, no overlap
      end = f.offset + f.bytes;
      expect(f.guard.length).toBeGreaterThan(0);
    }
    expect(end).toBe(layout.size);
    expect(layout.size % 8).toBe(0);
  });

  it('the lock block begins with the RLock words', () => {
    expect(LOCK_BLOCK.fields.slice(0, RLOCK_NUMBYTES / 4).map((f) => f.name)).toEqual(['state', 'owner', 'depth', 'refs', 'flags']);
    // the group block embeds the same lock, from the same field list
    expect(GROUP_BLOCK.fields.slice(0, RLOCK_NUMBYTES / 4).map((f) => f.name)).toEqual(['state', 'owner', 'depth', 'refs', 'flags']);
  });

  it('a definition that overlaps, misaligns or does not fill its size is refused', () => {
    expect(() => defineLayout('x', 16, [{ name: 'a', type: 'i32', guard: '-', meaning: '' }, { name: 'b', type: 'f64', guard: '-', meaning: '' }])).toThrow(/misaligned/);
    expect(() => defineLayout('x', 8, [{ name: 'a', type: 'i32', guard: '-', meaning: '' }])).toThrow(/take 4 bytes/);
    expect(() => defineLayout('x', 8, [{ name: 'a', type: 'i32', guard: '-', meaning: '' }, { name: 'a', type: 'i32', guard: '-', meaning: '' }])).toThrow(/twice/);
    expect(() => BEV_HEADER.off('nope')).toThrow(/no field/);
  });
});
