/**
 * The text events of one streamed choice, framed for SseWriter.event(). Every such event is the same stream
 * chunk but for its text (responses.ts, streamChunk), so the chunk is serialized once per choice with a marker
 * in place of the text and split around it: an event is then head + JSON string of the text + tail, the same
 * bytes JSON.stringify(streamChunk(...)) gives, for a fraction of its cost (no objects, one short stringify).
 * The chunks that differ (the first, with the chat role; the last, with the finish reason; usage) are
 * serialized whole by the caller.
 */
import type { EndpointKind } from './validate.js';
import { streamChunk, type ResponseMeta } from './responses.js';

// Control characters cannot appear unescaped in JSON, so this marker's serialization is unlikely to occur
// anywhere else in a chunk; if a model name holds it anyway, events are serialized whole.
const MARKER = '\u0000\u0001delta\u0001\u0000';
const MARKER_JSON = JSON.stringify(MARKER);

export class DeltaEvents {
  private readonly head: string | null;
  private readonly tail: string;

  constructor(
    private readonly kind: EndpointKind,
    private readonly meta: ResponseMeta,
    private readonly index: number,
    private readonly includeUsage: boolean,
  ) {
    const json = JSON.stringify(streamChunk(kind, meta, MARKER, null, { includeUsage, index }));
    const at = json.indexOf(MARKER_JSON);
    const unique = at >= 0 && json.indexOf(MARKER_JSON, at + 1) < 0;
    this.head = unique ? `data: ${json.slice(0, at)}` : null;
    this.tail = unique ? `${json.slice(at + MARKER_JSON.length)}\n\n` : '';
  }

  /** The event carrying `text` (not empty) as this choice's delta. */
  event(text: string): string {
    if (this.head === null) return `data: ${JSON.stringify(streamChunk(this.kind, this.meta, text, null, { includeUsage: this.includeUsage, index: this.index }))}\n\n`;
    return this.head + JSON.stringify(text) + this.tail;
  }
}
