// The line framing both Node chat servers use: a data handler that holds a connection's partial last line until its
// "\n" arrives and passes each read's complete lines on as one block.
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
