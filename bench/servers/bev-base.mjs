// One event base on the main thread, an echo per connection (evbuffer_add_buffer): this library, one thread.
// usage: node bench/servers/bev-base.mjs PORT      prints "ready" once it accepts
import * as L from '../../dist/index.js';
import { onConnection } from '../fixtures/echo-module.js';

const port = Number(process.argv[2]);
const base = L.event_base_new();
const lev = L.evconnlistener_new_bind(base, (_l, fd) => onConnection(base, fd), null, L.LEV_OPT_REUSEABLE | L.LEV_OPT_CLOSE_ON_FREE, 4096, {
  family: 'IPv4',
  address: '127.0.0.1',
  port,
});
if (!lev) throw new Error(`cannot listen on ${port}`);
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
await L.event_base_dispatch(base);
