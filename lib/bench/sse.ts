/**
 * An incremental reader of a server-sent-event stream (text/event-stream), fed the raw bytes of each socket
 * read: it calls back with the data of each event (its `data:` lines joined by newlines) as soon as the
 * blank line that ends it has arrived, within the same call. Comments, `event:`, `id:` and `retry:` fields
 * are ignored; CRLF and LF line ends are both accepted. Bytes after the last line end wait for the next read
 * (a line end is ASCII, so a multi-byte UTF-8 character is never cut in two).
 */
export class SseParser {
  private pending: Buffer | null = null;
  private data: string[] = [];

  /** Feeds one read; `onData` runs for every event the read completes. */
  push(chunk: Buffer, onData: (data: string) => void): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const last = buf.lastIndexOf(10); // '\n'
    if (last < 0) {
      this.pending = buf;
      return;
    }
    if (last + 1 < buf.length) this.pending = buf.subarray(last + 1);
    // Every line of `text` is complete: it ends with the read's last line end.
    const text = buf.toString('utf8', 0, last + 1);
    let from = 0;
    while (from < text.length) {
      const nl = text.indexOf('\n', from);
      // The common event, `data: X` and a blank line (LF), in one slice; anything else line by line.
      if (this.data.length === 0 && text.charCodeAt(nl + 1) === 10 && text.charCodeAt(nl - 1) !== 13 && text.startsWith('data: ', from)) {
        onData(text.slice(from + 6, nl));
        from = nl + 2;
        continue;
      }
      this.line(text.charCodeAt(nl - 1) === 13 ? text.slice(from, nl - 1) : text.slice(from, nl), onData);
      from = nl + 1;
    }
  }

  /** The end of the stream: an event not closed by a blank line still counts. */
  end(onData: (data: string) => void): void {
    if (this.pending !== null) {
      const rest = this.pending.toString('utf8').replace(/\r$/, '');
      this.pending = null;
      this.line(rest, onData);
    }
    this.line('', onData);
  }

  private line(line: string, onData: (data: string) => void): void {
    if (line.length === 0) {
      if (this.data.length > 0) {
        const d = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
        this.data = [];
        onData(d);
      }
      return;
    }
    if (line.startsWith('data:')) this.data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
  }
}
