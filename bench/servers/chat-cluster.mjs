// A chat server on node:cluster the usual way: N worker processes share the port (the primary accepts and hands
// connections round-robin); a worker that reads a line writes it to its own other clients and process.send()s it to
// the primary, which forwards it to every other worker, which writes it to all its clients. Only complete lines are
// relayed (a connection's partial last line waits for its "\n"), and one connection's lines take one path (its worker,
// the primary's IPC channels, which keep order), so lines arrive whole and in order per sender. Messages are latin1
// strings (byte-exact) under the default JSON serialization of the IPC channel.
// usage: node bench/servers/chat-cluster.mjs PORT N      (PORT 0: any free port; all workers get the same one) prints
//        "listening on 127.0.0.1:PORT" once all N workers accept; exits 0 on SIGTERM (its workers with it).
import { chatServer } from './lines.mjs';
import cluster from 'node:cluster';

const port = Number(process.argv[2] ?? 0);
const n = Number(process.argv[3] ?? 2);

if (cluster.isPrimary) {
  let up = 0;
  let bound = 0;
  let stopping = false;
  const workers = [];
  for (let i = 0; i < n; i++) {
    const w = cluster.fork();
    workers.push(w);
    w.on('message', (m) => {
      if (typeof m === 'string') {
        for (const o of workers) if (o !== w) o.send(m);
      } else if (m?.listening !== undefined) {
        bound = m.listening;
        if (++up === n) console.log(`listening on 127.0.0.1:${bound}`);
      }
    });
  }
  cluster.on('exit', (w, code, signal) => {
    if (!stopping) {
      console.error(`chat-cluster: worker ${w.process.pid} died (${signal ?? code})`);
      process.exit(1);
    }
  });
  process.on('SIGTERM', () => {
    stopping = true;
    for (const w of workers) w.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const { server, clients } = chatServer((out) => process.send(out.toString('latin1')));
  process.on('message', (m) => {
    if (typeof m !== 'string') return;
    const b = Buffer.from(m, 'latin1');
    for (const o of clients) o.write(b);
  });
  process.on('SIGTERM', () => process.exit(0));
  server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => process.send({ listening: server.address().port }));
}
