import { Worker } from 'node:worker_threads';
import { once } from 'node:events';

/** A fixture worker driven by request/reply messages (one outstanding request at a time). */
export class Helper {
  readonly w: Worker;
  constructor(fixture: string) {
    this.w = new Worker(new URL(`../fixtures/${fixture}`, import.meta.url));
  }
  async call(msg: Record<string, unknown>): Promise<{ ok: boolean; result?: unknown; code?: string }> {
    const reply = once(this.w, 'message');
    this.w.postMessage(msg);
    const [r] = await reply;
    return r as { ok: boolean; result?: unknown; code?: string };
  }
  async close(): Promise<void> {
    await this.w.terminate();
  }
}
