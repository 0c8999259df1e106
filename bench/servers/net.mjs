// What a Node user writes today: node:net echo on one thread. With N > 0, node:cluster with N such processes.
// usage: node bench/servers/net.mjs PORT [N]
import net from 'node:net';
import cluster from 'node:cluster';

const port = Number(process.argv[2]);
const n = Number(process.argv[3] ?? 0);
function serve() {
  net
    .createServer((c) => {
      c.on('error', () => {});
      c.on('data', (d) => c.write(d));
    })
    .listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
      if (cluster.isWorker) process.send('listening');
      else console.log('ready');
    });
}
if (n > 0 && cluster.isPrimary) {
  let up = 0;
  for (let i = 0; i < n; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++up === n) console.log('ready');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  process.on('SIGTERM', () => process.exit(0));
  serve();
}
