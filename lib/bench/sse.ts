/**
 * A minimal reader of a server-sent-event stream (text/event-stream): yields the data of each event (its
 * `data:` lines joined by newlines), as soon as the blank line that ends it arrives. Comments, `event:`,
 * `id:` and `retry:` fields are ignored; CRLF and LF line ends are both accepted.
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let pending = '';
  let data: string[] = [];
  try {
    while (true) {
      const { value, done } = await reader.read();
      pending += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        let line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length > 0) {
            yield data.join('\n');
            data = [];
          }
          continue;
        }
        if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
      if (done) break;
    }
    if (pending.startsWith('data:')) data.push(pending.slice(pending[5] === ' ' ? 6 : 5));
    if (data.length > 0) yield data.join('\n');
  } finally {
    reader.releaseLock();
  }
}
