// A chat server as a Node user writes it today: node:net on one thread; every line ("\n"-terminated) received on a
// connection is written to every other connection. A connection's partial last line is held until its "\n" arrives,
// so lines go out whole; each read's complete lines go out as one write per receiver.
// usage: node bench/servers/chat-net.mjs PORT      (PORT 0: any free port) prints "listening on 127.0.0.1:PORT" once
//        it accepts, the way `dist/cli.js serve` does (bench/chat.mjs reads the port from it); exits 0 on SIGTERM.
import net from 'node:net';

const port = Number(process.argv[2] ?? 0);
const clients = new Set();
const server = net.createServer((c) => {
  clients.add(c);
  let rest = null; // the partial line at the end of the last read
  c.on('data', (d) => {
    const nl = d.lastIndexOf(10);
    if (nl < 0) {
      rest = rest ? Buffer.concat([rest, d]) : d;
      return;
    }
    let out = nl + 1 === d.length ? d : d.subarray(0, nl + 1);
    if (rest) out = Buffer.concat([rest, out]);
    rest = nl + 1 === d.length ? null : d.subarray(nl + 1);
    for (const o of clients) if (o !== c) o.write(out);
  });
  c.on('close', () => clients.delete(c));
  c.on('error', () => {});
});
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
