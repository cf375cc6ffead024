/**
 * Stop strings matched on the text, across token and chunk boundaries (vLLM's semantics): the text is cut
 * before the first stop string found (after it with includeInOutput). While streaming, the last
 * (longest stop - 1) characters are held back until they can no longer begin a stop string, so a stop string
 * is never sent, even in part; with includeInOutput nothing is held back. Held text is never cut inside a
 * surrogate pair. The search only looks at the held-back tail plus the new text: the work per push is
 * proportional to the new text, not to the whole output.
 */
export class StopStringMatcher {
  /** The stop string that matched, once one has. */
  matched: string | null = null;
  private readonly keep: number;
  /** The last characters seen (at least the held ones): where a stop string may have begun. */
  private window = '';
  /** How many characters at the end of `window` are not emitted yet. */
  private held = 0;

  constructor(
    private readonly stops: readonly string[],
    private readonly includeInOutput = false,
  ) {
    this.keep = Math.max(0, Math.max(0, ...stops.map((s) => s.length)) - 1);
  }

  /** Feeds new text; returns the text that can be emitted now. After a match, everything is ignored. */
  push(text: string): string {
    if (this.matched !== null || text === '') return '';
    const buf = this.window + text;
    const unemitted = this.window.length - this.held;
    let at = -1;
    let stop = '';
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        stop = s;
      }
    }
    if (at >= 0) {
      this.matched = stop;
      const cut = this.includeInOutput ? at + stop.length : at;
      this.window = '';
      this.held = 0;
      return cut > unemitted ? buf.slice(unemitted, cut) : '';
    }
    let end = this.includeInOutput ? buf.length : Math.max(unemitted, buf.length - this.keep);
    if (end > unemitted && end < buf.length && isHighSurrogate(buf.charCodeAt(end - 1))) end--;
    this.held = buf.length - end;
    this.window = buf.slice(Math.max(0, Math.min(end, buf.length - this.keep)));
    return buf.slice(unemitted, end);
  }

  /** The end of the text: returns what is still held back (nothing after a match). */
  flush(): string {
    const rest = this.matched === null ? this.window.slice(this.window.length - this.held) : '';
    this.window = '';
    this.held = 0;
    return rest;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
