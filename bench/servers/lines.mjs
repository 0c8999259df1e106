// What both Node chat servers share: the line framing (a connection's partial last line is held until its "\n"
// arrives; each read's complete lines go on as one block) and the local fan-out (each block is written to every
// other connection of this process, then handed to `relay`, if any).
import net from 'node:net';

export function wholeLines(onBlock) {
  let rest = null; // the partial line at the end of the last read
  return (d) => {
    const nl = d.lastIndexOf(10);
    if (nl < 0) {
      rest = rest ? Buffer.concat([rest, d]) : d;
      return;
    }
    let out = nl + 1 === d.length ? d : d.subarray(0, nl + 1);
    if (rest) out = Buffer.concat([rest, out]);
    rest = nl + 1 === d.length ? null : d.subarray(nl + 1);
    onBlock(out);
  };
}

/** A chat server of this process's connections; `clients` is the set of them. */
export function chatServer(relay = null) {
  const clients = new Set();
  const server = net.createServer((c) => {
    clients.add(c);
    c.on(
      'data',
      wholeLines((out) => {
        for (const o of clients) if (o !== c) o.write(out);
        relay?.(out);
      }),
    );
    c.on('close', () => clients.delete(c));
    c.on('error', () => {});
  });
  return { server, clients };
}
