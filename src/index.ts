/**
 * bufferevent: libevent's bufferevent layer for Node.js, on SharedArrayBuffer memory with Atomics locks.
 *
 * Two faces of one implementation:
 * - the libevent-compatible flat API (`bufferevent_socket_new`, `evbuffer_add`, `event_base_dispatch`, ...), for
 *   porting C code line by line (src/compat/libevent.ts);
 * - the classes underneath (`EventBase`, `Evbuffer`, `Bufferevent` and its types), whose camelCase methods are the
 *   same operations with the same checks.
 */
import './require-node.ts'; // first (imports are evaluated in order): an older Node fails here with one clear error
import './shm/robust.ts'; // robust locks: watch for worker deaths in every thread that loads the package
export * from './compat/libevent.ts';
export * from './compat/ratelim.ts';
export * from './compat/evbuffer-io.ts';
import './lock-guard.ts'; // bev.lock() / buf.lock() guards and lockAsync
export type { LockGuard } from './lock-guard.ts';
// The classes, for `instanceof` and their camelCase methods. Objects come from the flat API's constructors
// (event_base_new, evbuffer_new, bufferevent_socket_new, ...); calling a class constructor directly with anything
// but what those pass throws TypeError ERR_INVALID_ARG_TYPE.
export { EventBase, Event } from './event/base.ts';
export { Evbuffer, EvbufferCbEntry } from './evbuffer/evbuffer.ts';
export type { EvbufferCbInfo } from './evbuffer/evbuffer.ts';
export { Bufferevent } from './bufferevent/core.ts';
export { EvdnsBase } from './dns/evdns.ts';
export { Evconnlistener } from './listener.ts';
export type { Sockaddr } from './sockaddr.ts';
export type { ErrorCode, CodedError } from './errors.ts';
export { BuffereventError, ERROR_CODES } from './errors.ts';
export { startRuntime, Runtime, WORKER_YOUNG_GENERATION_MB } from './runtime/runtime.ts';
export { Registry, REGISTRY_KEY_MAX } from './runtime/registry.ts';
export { threadLockWaits } from './shm/rlock.ts';
export type { RuntimeOptions, ConnectionInfo } from './runtime/runtime.ts';
export { offloadFilterNew } from './runtime/offload-filter.ts';
export type { OffloadFilterOptions } from './runtime/offload-filter.ts';
export { BuffereventDuplex, bufferevent_stream } from './stream.ts';
