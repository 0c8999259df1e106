/**
 * One definition per shared-memory struct: its fields in order, each with a type, what protects it (a lock, Atomics,
 * write-once) and who writes it, and its meaning. Offsets are derived from the order and the types' alignment, so a
 * field cannot overlap another or sit misaligned; the struct's size is given and checked. The doc comment table above
 * a definition is `table()`'s output, and a test (test/shm/layouts.test.ts) fails when the two drift apart.
 */
export type FieldType = 'i32' | 'u32' | 'f64';

export interface FieldDef {
  name: string;
  type: FieldType;
  /** the lock or discipline that protects it, and who writes it */
  guard: string;
  meaning: string;
  /** an array of this many elements of `type` (default: one) */
  count?: number;
}

export interface Field extends FieldDef {
  offset: number;
  bytes: number;
}

export interface Layout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
  /** The byte offset of a field; throws for a name that is not in the definition. */
  off(name: string): number;
  /** The doc comment table of the definition (one `| byte | type | field | protected by, written by | meaning |` row per field). */
  table(): string;
}

const SIZES: Record<FieldType, number> = { i32: 4, u32: 4, f64: 8 };

export function defineLayout(name: string, size: number, defs: readonly FieldDef[]): Layout {
  const fields: Field[] = [];
  const names = new Set<string>();
  let at = 0;
  for (const d of defs) {
    const one = SIZES[d.type];
    if (one === undefined) throw new Error(`${name}.${d.name}: unknown type ${String(d.type)}`);
    const count = d.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`${name}.${d.name}: count ${count}`);
    const bytes = one * count;
    if (names.has(d.name) && !d.name.startsWith('spare')) throw new Error(`${name}: field ${d.name} twice`);
    names.add(d.name);
    if (at % one !== 0) throw new Error(`${name}.${d.name}: ${d.type} at byte ${at} is misaligned (add a spare field)`);
    fields.push({ ...d, offset: at, bytes });
    at += bytes;
  }
  if (at !== size) throw new Error(`${name}: fields take ${at} bytes, the struct is ${size}`);
  const byName = new Map(fields.map((f) => [f.name, f.offset]));
  return {
    name,
    size,
    fields,
    off(n: string): number {
      const o = byName.get(n);
      if (o === undefined) throw new Error(`${name} has no field ${n}`);
      return o;
    },
    table(): string {
      const rows = fields.map((f) => [String(f.offset), f.count === undefined ? f.type : `${f.type}[${f.count}]`, f.name, f.guard, f.meaning]);
      const head = ['byte', 'type', 'field', 'protected by, written by', 'meaning'];
      const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
      const line = (r: string[]): string => `| ${r.map((x, c) => x.padEnd(w[c]!)).join(' | ')} |`;
      return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
    },
  };
}
