import { threadId } from 'node:worker_threads';

/**
 * This thread's lock-owner tag: `worker_threads.threadId + 1`, so that 0 can mean "no owner" in shared words.
 * The main thread is 1; every worker has a distinct tag for the life of the process (Node never reuses thread ids).
 */
export const THREAD_TAG: number = threadId + 1;
