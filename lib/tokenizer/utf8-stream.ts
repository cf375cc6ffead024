/**
 * A streaming UTF-8 decoder: the WHATWG Encoding Standard's algorithm (the one TextDecoder implements, whose
 * replacement of invalid sequences is also Rust's `from_utf8_lossy`), in JS so that a token's few bytes cost
 * no native call. Byte-level detokenization feeds it only the tokens that are not whole characters on their
 * own (detokenizer.ts); `clean` says when no character is half-read.
 */
export class Utf8Stream {
  private codePoint = 0;
  private needed = 0;
  private seen = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** No character is half-read. */
  get clean(): boolean {
    return this.needed === 0;
  }

  /** Decodes bytes[start, end); an incomplete character at the end waits for the next call. */
  decode(bytes: Uint8Array, start: number, end: number): string {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (this.needed === 0) {
        if (b <= 0x7f) s += String.fromCharCode(b);
        else if (b >= 0xc2 && b <= 0xdf) {
          this.needed = 1;
          this.codePoint = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.lower = 0xa0;
          if (b === 0xed) this.upper = 0x9f;
          this.needed = 2;
          this.codePoint = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.lower = 0x90;
          if (b === 0xf4) this.upper = 0x8f;
          this.needed = 3;
          this.codePoint = b & 0x07;
        } else s += '\uFFFD';
        continue;
      }
      if (b < this.lower || b > this.upper) {
        // The sequence so far is replaced by one U+FFFD and this byte starts over.
        this.reset();
        s += '\uFFFD';
        i--;
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.codePoint = (this.codePoint << 6) | (b & 0x3f);
      if (++this.seen < this.needed) continue;
      s += String.fromCodePoint(this.codePoint);
      this.reset();
    }
    return s;
  }

  /** The end of the bytes: a half-read character becomes U+FFFD. */
  flush(): string {
    if (this.needed === 0) return '';
    this.reset();
    return '\uFFFD';
  }

  private reset(): void {
    this.codePoint = 0;
    this.needed = 0;
    this.seen = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}
