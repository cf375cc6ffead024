/**
 * The text events of one streamed choice. Every such event is the same stream chunk but for its text
 * (responses.ts, streamChunk), so the chunk is serialized once per choice with a marker in place of the text
 * and split around it: an event is then head + JSON string of the text + tail, head and tail encoded once,
 * the same bytes `data: ${JSON.stringify(streamChunk(...))}\n\n` gives, for a fraction of its cost (no
 * objects, one short stringify). The chunks that differ (the first, with the chat role; the last, with the
 * finish reason; usage) are serialized whole by the caller.
 */
import type { EndpointKind } from './validate.js';
import { streamChunk, type ResponseMeta } from './responses.js';
import type { SseWriter } from './sse.js';

// Control characters cannot appear unescaped in JSON, so this marker's serialization is unlikely to occur
// anywhere else in a chunk; if a model name holds it anyway, events are serialized whole.
const MARKER = '\u0000\u0001delta\u0001\u0000';
const MARKER_JSON = JSON.stringify(MARKER);

export class DeltaEvents {
  private readonly head: Buffer | null;
  private readonly tail: Buffer;

  constructor(
    private readonly kind: EndpointKind,
    private readonly meta: ResponseMeta,
    private readonly index: number,
    private readonly includeUsage: boolean,
  ) {
    const json = JSON.stringify(streamChunk(kind, meta, MARKER, null, { includeUsage, index }));
    const at = json.indexOf(MARKER_JSON);
    const unique = at >= 0 && json.indexOf(MARKER_JSON, at + 1) < 0;
    this.head = unique ? Buffer.from(`data: ${json.slice(0, at)}`) : null;
    this.tail = Buffer.from(unique ? `${json.slice(at + MARKER_JSON.length)}\n\n` : '');
  }

  /** Queues the event carrying `text` (not empty) as this choice's delta. */
  send(sse: SseWriter, text: string): void {
    if (this.head === null) sse.send(streamChunk(this.kind, this.meta, text, null, { includeUsage: this.includeUsage, index: this.index }));
    else sse.textEvent(this.head, text, this.tail);
  }
}
