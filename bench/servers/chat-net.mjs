// A chat server as a Node user writes it today: node:net on one thread; every line ("\n"-terminated) received on a
// connection is written to every other connection. A connection's partial last line is held until its "\n" arrives,
// so lines go out whole; each read's complete lines go out as one write per receiver.
// usage: node bench/servers/chat-net.mjs PORT      (PORT 0: any free port) prints "listening on 127.0.0.1:PORT" once
//        it accepts, the way `dist/cli.js serve` does (bench/chat.mjs reads the port from it); exits 0 on SIGTERM.
import { chatServer } from './lines.mjs';

const port = Number(process.argv[2] ?? 0);
const { server } = chatServer();
server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
