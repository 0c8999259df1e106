// The runtime: N event-base worker threads, connections accepted on the main thread and handed over.
// usage: node bench/servers/bev-runtime.mjs PORT N
import { startRuntime } from '../../dist/index.js';

const rt = await startRuntime({
  module: new URL('../fixtures/echo-module.js', import.meta.url),
  workers: Number(process.argv[3]),
  port: Number(process.argv[2]),
  reusePort: process.env.BENCH_REUSEPORT === '1',
});
process.on('SIGTERM', () => void rt.close(500).then(() => process.exit(0)));
console.log('ready');
