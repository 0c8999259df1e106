/**
 * A sequential model of an evbuffer and a linearizability check against it (Wing and Gong's search, as Lincheck
 * does): a concurrent history is correct when its operations can be put in one order that respects each thread's
 * program order and real time (an operation that ended before another began comes first), and in which the model,
 * run in that order, gives every operation the result it observed.
 *
 * Real time comes from one shared counter every actor bumps with Atomics.add before and after each operation; all
 * JavaScript Atomics are sequentially consistent, so `a.end < b.start` means a ended before b began.
 */
export type ModelOp =
  | { kind: 'add'; data: string }
  | { kind: 'prepend'; data: string }
  | { kind: 'remove'; n: number }
  | { kind: 'drain'; n: number }
  | { kind: 'length' }
  | { kind: 'copyout'; n: number };

export interface HistoryEntry {
  thread: number;
  op: ModelOp;
  /** what the operation returned: bytes as a latin1 string, a length, or null */
  result: string | number | null;
  start: number;
  end: number;
}

/** Apply one operation to the model's contents; returns the new contents and the result the op must have seen. */
export function applyModel(state: string, op: ModelOp): [string, string | number | null] {
  switch (op.kind) {
    case 'add':
      return [state + op.data, null];
    case 'prepend':
      return [op.data + state, null];
    case 'remove':
      return [state.slice(op.n), state.slice(0, op.n)];
    case 'drain':
      return [state.slice(op.n), null];
    case 'length':
      return [state, state.length];
    case 'copyout':
      return [state, state.slice(0, op.n)];
  }
}

export function describeOp(op: ModelOp): string {
  switch (op.kind) {
    case 'add':
    case 'prepend':
      return `${op.kind}(${JSON.stringify(op.data)})`;
    case 'length':
      return 'get_length()';
    default:
      return `${op.kind}(${op.n})`;
  }
}

export interface LinearizationResult {
  ok: boolean;
  /** a witness order (indices into the flattened history) when ok */
  order: number[] | null;
  /** the final contents in the witness order */
  final: string | null;
}

/**
 * Search for a linearization of `history` (per-thread lists, in program order) starting from `initial` and, when
 * `final` is given, ending with those contents. Exponential in the worst case; meant for the small histories of one
 * trial (a few threads by a few operations), with memoisation on (progress, contents).
 */
export function linearize(history: readonly (readonly HistoryEntry[])[], initial: string, final: string | null): LinearizationResult {
  const threads = history.length;
  const idx = new Array<number>(threads).fill(0);
  const failed = new Set<string>();
  const order: number[] = [];
  const flatBase: number[] = [];
  let acc = 0;
  for (const h of history) {
    flatBase.push(acc);
    acc += h.length;
  }
  let witnessFinal: string | null = null;

  const search = (state: string): boolean => {
    let done = true;
    for (let t = 0; t < threads; t++) if (idx[t]! < history[t]!.length) done = false;
    if (done) {
      if (final !== null && state !== final) return false;
      witnessFinal = state;
      return true;
    }
    const key = `${idx.join(',')}|${state}`;
    if (failed.has(key)) return false;
    // the earliest end among the pending operations: anything that starts after it cannot go first
    let minEnd = Infinity;
    for (let t = 0; t < threads; t++) {
      const e = history[t]![idx[t]!];
      if (e !== undefined && e.end < minEnd) minEnd = e.end;
    }
    for (let t = 0; t < threads; t++) {
      const e = history[t]![idx[t]!];
      if (e === undefined || e.start > minEnd) continue;
      const [next, want] = applyModel(state, e.op);
      if (want !== e.result) continue;
      order.push(flatBase[t]! + idx[t]!);
      idx[t]!++;
      if (search(next)) return true;
      idx[t]!--;
      order.pop();
    }
    failed.add(key);
    return false;
  };
  const ok = search(initial);
  return { ok, order: ok ? order.slice() : null, final: witnessFinal };
}
