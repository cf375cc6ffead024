/**
 * Exemplars: the trace id of a request, attached to the TTFT and E2E histogram buckets its values land in and
 * served in the OpenMetrics format only (`..._bucket{le="0.5",...} 3 # {trace_id="4bf9..."} 0.42 1767225600.123`).
 *
 * Whoever enqueues a request (the OpenAI server: a W3C traceparent header, or serve --exemplars request-id)
 * tells `TraceIds` its engine request id and trace id; the collector takes the trace id when the request's
 * finished-request record arrives. Requests without one cost the collector a size check per batch.
 */
import { InvalidArgumentError } from '../errors.js';

/** The exemplar label name (OpenTelemetry's and Prometheus' convention). */
export const EXEMPLAR_LABEL = 'trace_id';

/** OpenMetrics: the exemplar's label names and values together hold at most 128 UTF-8 characters. */
const MAX_LABEL_CHARS = 128 - EXEMPLAR_LABEL.length;

/** Engine request id -> trace id of requests in flight. Bounded: past `capacity`, the oldest entry is dropped. */
export class TraceIds {
  private readonly byRequest = new Map<number, string>();
  /** Entries forgotten because the map was full (requests whose records never arrived). */
  dropped = 0;

  constructor(readonly capacity = 65536) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidArgumentError(`TraceIds capacity must be a positive integer, got ${String(capacity)}`);
  }

  get size(): number {
    return this.byRequest.size;
  }

  /** Remembers the trace id of an engine request. A label value OpenMetrics cannot carry is an error. */
  set(requestId: number, traceId: string): void {
    if (typeof traceId !== 'string' || traceId.length === 0 || traceId.length > MAX_LABEL_CHARS) {
      throw new InvalidArgumentError(`an exemplar trace id must be a string of 1 to ${MAX_LABEL_CHARS} characters, got ${JSON.stringify(traceId)}`);
    }
    this.byRequest.set(requestId, traceId);
    if (this.byRequest.size > this.capacity) {
      this.byRequest.delete(this.byRequest.keys().next().value as number);
      this.dropped++;
    }
  }

  /** The trace id of a finished request, forgotten once read. */
  take(requestId: number): string | undefined {
    const t = this.byRequest.get(requestId);
    if (t !== undefined) this.byRequest.delete(requestId);
    return t;
  }
}

/** One bucket's exemplar: the latest traced value that fell in it. */
export interface Exemplar {
  traceId: string;
  value: number;
  /** Unix time, seconds. */
  timestamp: number;
}
