/**
 * The trace id of a W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `version-traceid-parentid-flags`, lowercase hex, 2-32-16-2 digits. Version ff is invalid; a trace id or a
 * parent id of all zeros is invalid; a future version (above 00) may carry more fields after the flags. An
 * invalid header is ignored, as the specification asks of a receiver.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

export function traceIdOf(header: string | string[] | undefined): string | undefined {
  // Several traceparent headers are invalid (the specification allows only one).
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentId, , rest] = m;
  if (version === 'ff' || traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  return traceId;
}

/** A request id usable as an exemplar label value (X-Request-Id): printable ASCII, at most 64 characters. */
export function requestIdOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const v = header.trim();
  return v.length > 0 && v.length <= 64 && /^[\x21-\x7e]+$/.test(v) ? v : undefined;
}
