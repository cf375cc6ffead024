/** Reads a request body up to a size limit (413 beyond it) and parses it as JSON (400 when it is not). */
import type { IncomingMessage } from 'node:http';
import { invalidJson, payloadTooLarge } from './errors.js';

/** Resolves with the body; rejects with a 413 ApiError as soon as it exceeds `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(payloadTooLarge(limit));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        settled = true;
        parts.length = 0;
        req.off('data', onData);
        req.resume();
        reject(payloadTooLarge(limit));
        return;
      }
      parts.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(parts, size));
    });
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
  });
}

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw invalidJson('the body is empty');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidJson((err as Error).message);
  }
}
