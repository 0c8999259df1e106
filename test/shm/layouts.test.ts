import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineLayout, type Layout } from '../../src/shm/layout.ts';
import { BEV_HEADER } from '../../src/bufferevent/header.ts';
import { EVBUFFER_HEADER, CHAIN_HEADER } from '../../src/evbuffer/storage.ts';
import { LOCK_BLOCK, ARENA_HEADER } from '../../src/shm/arena.ts';
import { MAILBOX } from '../../src/shm/mailbox.ts';
import { REGISTRY_HEADER, REGISTRY_SLOT } from '../../src/runtime/registry.ts';
import { SEGMENT_SLOT } from '../../src/evbuffer/segments.ts';
import { CONTROL_BLOCK, ACTOR_RECORD } from '../../src/stress/scheduler.ts';
import { RLOCK_NUMBYTES } from '../../src/shm/rlock.ts';
import { GROUP_BLOCK } from '../../src/bufferevent/ratelim.ts';

/** Every shared struct with a layout definition: the doc comment's table must be the definition's. */
const layouts: Array<[Layout, string]> = [
  [BEV_HEADER, '../../src/bufferevent/header.ts'],
  [EVBUFFER_HEADER, '../../src/evbuffer/storage.ts'],
  [CHAIN_HEADER, '../../src/evbuffer/storage.ts'],
  [LOCK_BLOCK, '../../src/shm/arena.ts'],
  [GROUP_BLOCK, '../../src/bufferevent/ratelim.ts'],
  [ARENA_HEADER, '../../src/shm/arena.ts'],
  [MAILBOX, '../../src/shm/mailbox.ts'],
  [REGISTRY_HEADER, '../../src/runtime/registry.ts'],
  [REGISTRY_SLOT, '../../src/runtime/registry.ts'],
  [SEGMENT_SLOT, '../../src/evbuffer/segments.ts'],
  [CONTROL_BLOCK, '../../src/stress/scheduler.ts'],
  [ACTOR_RECORD, '../../src/stress/scheduler.ts'],
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
      expect(f.offset % (f.bytes / (f.count ?? 1))).toBe(0); // aligned to its element
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
    expect(() => defineLayout('x', 8, [{ name: 'a', type: 'i32', count: 0, guard: '-', meaning: '' }])).toThrow(/count/);
  });

  it('an array field takes count elements, and its table row says so', () => {
    const l = defineLayout('x', 24, [
      { name: 'n', type: 'i32', guard: '-', meaning: '' },
      { name: 'list', type: 'u32', count: 3, guard: '-', meaning: '' },
      { name: 'f', type: 'f64', guard: '-', meaning: '' },
    ]);
    expect([l.off('list'), l.off('f')]).toEqual([4, 16]);
    expect(l.table()).toMatch(/\| 4 +\| u32\[3\] +\| list /);
    // the locks embedded at the start of the arena header, the mailbox and the registry are the RLock's words
    for (const b of [ARENA_HEADER, MAILBOX, REGISTRY_HEADER]) expect(b.fields.slice(0, 5).map((f) => f.name)).toEqual(['state', 'owner', 'depth', 'refs', 'flags']);
  });
});
