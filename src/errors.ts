import util from 'node:util';
/**
 * Errors thrown by the library. Every error carries a stable `code` string; the class tells the kind of mistake
 * (`TypeError` for a wrong type, `RangeError` for a value out of range, `Error` otherwise), as in Node's own errors.
 *
 * | code                     | class      | meaning                                                                    |
 * |--------------------------|------------|----------------------------------------------------------------------------|
 * | ERR_INVALID_ARG_TYPE     | TypeError  | an argument has the wrong JS type                                          |
 * | ERR_OUT_OF_RANGE         | RangeError | a number is outside the accepted range (negative size_t, size > array...)  |
 * | ERR_BEV_FREED            | Error      | use of a freed bufferevent / evbuffer / event / base, from any thread      |
 * | ERR_BEV_WRONG_THREAD     | Error      | a call that must run on the owning base's thread ran elsewhere             |
 * | ERR_BEV_NOT_THREADSAFE   | Error      | exporting an object that has no lock                                       |
 * | ERR_BEV_LOCK_NOT_HELD    | Error      | unlock by a thread that does not hold the lock, or below depth 0           |
 * | ERR_BEV_OWNER_DIED       | Error      | the lock was recovered from a dead thread; the caller now holds it         |
 * | ERR_BEV_LOCK_ASSERT      | Error      | lock debugging: internal code that requires the lock ran without it        |
 * | ERR_BEV_ARENA_FULL       | RangeError | the shared-memory arena cannot grow further (4 GiB per thread)             |
 * | ERR_BEV_EVENT_ERROR      | Error      | a Duplex over a bufferevent got BEV_EVENT_ERROR (`errno` says which)       |
 * | ERR_BEV_KEY_EXISTS       | Error      | a registry key is already published                                        |
 * | ERR_BEV_REGISTRY_FULL    | RangeError | the runtime's registry holds as many keys as it was made for               |
 * | ERR_BEV_NODE_VERSION     | Error      | the package was imported on a Node older than it supports                  |
 * | ERR_BEV_NO_RATE_LIMIT    | Error      | decrementing a bufferevent's rate limit when it has none (libevent asserts) |
 * | ERR_BEV_CONNECT_STATE    | Error      | `bev.connect()` on a bufferevent that is connected or connecting already   |
 * | ERR_BEV_BASE_RUNNING     | Error      | event_base_free while the base's loop is running                           |
 * | ERR_BEV_NOT_CLONEABLE    | Error      | a library object put in postMessage/structuredClone as is (export it)      |
 *
 * Connection failures that reach a promise are Node-style system errors (`code: 'ECONNREFUSED'`, `errno`, `syscall`,
 * `address`, `port`; `ENOTFOUND`/`EAI_*` with `syscall: 'getaddrinfo'` for names), and `instanceof BuffereventError`.
 */
export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_BEV_FREED'
  | 'ERR_BEV_WRONG_THREAD'
  | 'ERR_BEV_NOT_THREADSAFE'
  | 'ERR_BEV_LOCK_NOT_HELD'
  | 'ERR_BEV_OWNER_DIED'
  | 'ERR_BEV_LOCK_ASSERT'
  | 'ERR_BEV_ARENA_FULL'
  | 'ERR_BEV_EVENT_ERROR'
  | 'ERR_BEV_KEY_EXISTS'
  | 'ERR_BEV_REGISTRY_FULL'
  | 'ERR_BEV_NODE_VERSION'
  | 'ERR_BEV_NO_RATE_LIMIT'
  | 'ERR_BEV_CONNECT_STATE'
  | 'ERR_BEV_BASE_RUNNING'
  | 'ERR_BEV_NOT_CLONEABLE';

export interface CodedError extends Error {
  code: ErrorCode;
}

/** Every ERR_BEV_* code, as constants (`ERROR_CODES.ERR_BEV_FREED === 'ERR_BEV_FREED'`). */
export const ERROR_CODES = Object.freeze({
  ERR_BEV_FREED: 'ERR_BEV_FREED',
  ERR_BEV_WRONG_THREAD: 'ERR_BEV_WRONG_THREAD',
  ERR_BEV_NOT_THREADSAFE: 'ERR_BEV_NOT_THREADSAFE',
  ERR_BEV_LOCK_NOT_HELD: 'ERR_BEV_LOCK_NOT_HELD',
  ERR_BEV_OWNER_DIED: 'ERR_BEV_OWNER_DIED',
  ERR_BEV_LOCK_ASSERT: 'ERR_BEV_LOCK_ASSERT',
  ERR_BEV_ARENA_FULL: 'ERR_BEV_ARENA_FULL',
  ERR_BEV_EVENT_ERROR: 'ERR_BEV_EVENT_ERROR',
  ERR_BEV_KEY_EXISTS: 'ERR_BEV_KEY_EXISTS',
  ERR_BEV_REGISTRY_FULL: 'ERR_BEV_REGISTRY_FULL',
  ERR_BEV_NODE_VERSION: 'ERR_BEV_NODE_VERSION',
  ERR_BEV_NO_RATE_LIMIT: 'ERR_BEV_NO_RATE_LIMIT',
  ERR_BEV_CONNECT_STATE: 'ERR_BEV_CONNECT_STATE',
  ERR_BEV_BASE_RUNNING: 'ERR_BEV_BASE_RUNNING',
  ERR_BEV_NOT_CLONEABLE: 'ERR_BEV_NOT_CLONEABLE',
} as const satisfies { [K in Exclude<ErrorCode, 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE'>]: K });

/**
 * The brand of the library's own errors. A registered symbol, so that an error thrown by another copy of this
 * package in the same process (two versions installed side by side) is recognized too.
 */
const BRAND = Symbol.for('bufferevent.error');

/**
 * `err instanceof BuffereventError` is true for every error this library throws with an ERR_BEV_* code (they are
 * `Error`s, or `RangeError`s for a full arena or registry), from any copy of the package. The argument errors stay
 * Node's `TypeError`/`RangeError` with `ERR_INVALID_ARG_TYPE`/`ERR_OUT_OF_RANGE`.
 */
export class BuffereventError extends Error {
  declare readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode) {
    if (typeof code !== 'string' || !code.startsWith('ERR_BEV_')) throw typeError('code', 'an ERR_BEV_* code (ERROR_CODES)', code);
    super(String(message));
    Object.defineProperty(this, 'code', { value: code, enumerable: true, writable: false, configurable: true });
    Object.defineProperty(this, BRAND, { value: true });
  }
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
  }
}

function withCode<E extends Error>(err: E, code: ErrorCode): E & CodedError {
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: false, configurable: true });
  if (code.startsWith('ERR_BEV_')) Object.defineProperty(err, BRAND, { value: true });
  return err as E & CodedError;
}

export function typeError(name: string, expected: string, actual: unknown): TypeError & CodedError {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

export function rangeError(name: string, range: string, actual: unknown): RangeError & CodedError {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${describe(actual)}`), 'ERR_OUT_OF_RANGE');
}

export function freedError(what: string): Error & CodedError {
  return withCode(new Error(`${what} has been freed`), 'ERR_BEV_FREED');
}

/** True for ERR_BEV_FREED: the object was freed (perhaps by another thread) before or while the call ran. */
export function isFreedError(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ERR_BEV_FREED';
}

/**
 * True for an error this library threw on purpose (an ERR_BEV_* code: freed object, full arena, wrong thread, ...).
 * Constructors that return null where libevent returns NULL swallow only the other kind (Node's and libuv's errors
 * about the fd or the address); these they let through.
 */
export function isLibraryError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_BEV_');
}

export function codedError(code: ErrorCode, message: string): Error & CodedError {
  return withCode(code === 'ERR_BEV_ARENA_FULL' || code === 'ERR_BEV_REGISTRY_FULL' ? new RangeError(message) : new Error(message), code);
}

/**
 * The value of the first own property of a thread-bound object of the library (a bufferevent, an evbuffer, a base, a
 * listener): a frozen object whose one getter throws ERR_BEV_NOT_CLONEABLE. postMessage and structuredClone read an
 * object's own properties in order, so posting such an object fails at once with a message that says what to post
 * instead, not with a DataCloneError about some inner field. One guard per class, shared by its instances.
 */
export function cloneGuard(what: string, instead: string): object {
  return Object.freeze(
    Object.defineProperty({}, 'instead', {
      enumerable: true,
      get(): never {
        throw codedError('ERR_BEV_NOT_CLONEABLE', `${what} cannot be posted to another thread as it is: ${instead}`);
      },
    }),
  );
}

/** The positive errno of a Node/libuv system error (libevent's EVUTIL_SOCKET_ERROR()), 0 for anything else. */
export function errnoOf(e: unknown): number {
  const n = (e as NodeJS.ErrnoException | null)?.errno;
  return typeof n === 'number' ? Math.abs(n) : 0;
}

/** A system error as Node reports one (`connect ECONNREFUSED 127.0.0.1:9`), carrying the library's brand. */
export function systemError(errno: number, syscall: string, address: string, port: number): Error {
  let name = 'UNKNOWN';
  try {
    name = util.getSystemErrorName(-Math.abs(errno));
  } catch {
    // not an errno Node knows
  }
  const e = new Error(`${syscall} ${name} ${address}${port ? `:${port}` : ''}`);
  Object.assign(e, { code: name, errno: -Math.abs(errno), syscall, address, port });
  Object.defineProperty(e, BRAND, { value: true });
  return e;
}

/** A failed name lookup as Node reports one (`getaddrinfo ENOTFOUND host`), with the EVUTIL_EAI_* code as `eai`. */
export function lookupError(eai: number, eaiName: string, host: string): Error {
  const code = eaiName === 'EAI_NONAME' || eaiName === 'EAI_NODATA' ? 'ENOTFOUND' : eaiName;
  const e = new Error(`getaddrinfo ${code} ${host}`);
  Object.assign(e, { code, eai, syscall: 'getaddrinfo', hostname: host });
  Object.defineProperty(e, BRAND, { value: true });
  return e;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return `function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  if (typeof v === 'string') return `type string (${JSON.stringify(v.length > 28 ? v.slice(0, 25) + '...' : v)})`;
  return `type ${typeof v} (${String(v)})`;
}
