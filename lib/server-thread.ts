/**
 * The HTTP thread of MetricsServer: owns the metrics port and does all of the HTTP work (accepting, parsing,
 * limits, auth, content negotiation, gzip, writing), so that a burst of scrapes does not wait behind the
 * engine's work on the main thread, and the engine's token streaming does not wait behind the scrapes. The
 * main thread is asked only for what lives there: one render per group of waiting scrapes, the health
 * answer, and extra routes (lib/server-protocol.ts).
 *
 * Freshness: by default a scrape is answered with a render that the main thread began after the scrape
 * arrived (the ask is posted after it, and the main thread handles messages in order). A client that changed
 * a metric and then scraped sees its change; scrapes that arrive while a render is in flight share the next
 * one. With maxRenderAgeMs > 0, a scrape may instead take the newest render if it began at most that long
 * before the scrape arrived: a scrape storm is then answered without waiting for the main thread at all.
 */
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { TrtllmMetricsError } from './errors.js';
import { applyLimits, Authenticator, declaredLength, discardBody, serverOptions } from './http-guard.js';
import { acceptsGzip, negotiateFormat, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, type ExpositionFormat } from './metrics/exposition.js';
import { clockMs, type HealthBody, type MainToThread, type Probe, type RouteResponse, type ThreadConfig, type ThreadToMain } from './server-protocol.js';

const ALLOW = 'GET, HEAD';
const TEXT = 'text/plain; charset=utf-8';

/** One render as the thread serves it: encoded once, gzip-compressed once on first demand. */
class Rendered {
  private gz: Buffer | undefined;
  constructor(
    readonly body: Buffer,
    /** When the main thread began it (process.hrtime clock), ms. */
    readonly begunAtMs: number,
  ) {}
  gzip(): Buffer {
    // Level 1: a tenth of the bytes for a fraction of the time of the default level.
    this.gz ??= gzipSync(this.body, { level: 1 });
    return this.gz;
  }
}

/** An answer the main thread did not give in time, or gave as a failure. */
/** The main thread did not answer a scrape or probe (in time, or at all): answered 503. */
class AskError extends TrtllmMetricsError {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super('ERR_TRTLLM_METRICS_SERVER_UNANSWERED', message);
  }
}

/** An ask as the thread writes it; MainThread.ask gives it its id. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Ask = WithoutId<Extract<ThreadToMain, { id: number }>>;

interface Pending {
  resolve(value: MainToThread): void;
  reject(err: AskError): void;
  timer: NodeJS.Timeout;
}

/** Posts asks to the main thread and matches its answers, each with a deadline. */
class MainThread {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly port: NonNullable<typeof parentPort>,
    private readonly timeoutMs: number,
  ) {}

  ask(message: Ask): Promise<MainToThread> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AskError(`the worker's main thread did not answer within ${this.timeoutMs} ms`, true));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.port.postMessage({ ...message, id } as ThreadToMain);
    });
  }

  answer(message: MainToThread & { id: number }): void {
    const p = this.pending.get(message.id);
    if (p === undefined) return; // answered after its deadline
    this.pending.delete(message.id);
    clearTimeout(p.timer);
    if (message.type === 'failed') p.reject(new AskError(message.message, false));
    else p.resolve(message);
  }

  failAll(why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AskError(why, false));
      this.pending.delete(id);
    }
  }
}

/**
 * Shares one ask among the requests that wait for it: the first request asks at once; requests that arrive
 * while that ask is in flight wait for the next one, asked as soon as the first is answered.
 */
type Waiter<T> = [resolve: (v: T) => void, reject: (e: AskError) => void];

class Batcher<T> {
  private waiting: Array<Waiter<T>> = [];
  private inflight = false;

  constructor(private readonly fetch: () => Promise<T>) {}

  get(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push([resolve, reject]);
      if (!this.inflight) this.flush();
    });
  }

  /** Starts an ask for nobody in particular when none is in flight (a refresh of a cache kept elsewhere). */
  refresh(): void {
    if (!this.inflight) this.flush();
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.inflight = true;
    this.fetch().then(
      (v) => this.settle(batch, (w) => w[0](v)),
      (e: AskError) => this.settle(batch, (w) => w[1](e)),
    );
  }

  private settle(batch: Array<Waiter<T>>, fn: (w: Waiter<T>) => void): void {
    this.inflight = false;
    for (const w of batch) fn(w);
    if (this.waiting.length > 0) this.flush();
  }
}


function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array, head: boolean): void {
  if (res.destroyed) return;
  // Header names are case-insensitive: ours replace a route's Content-Length, and yield to its Cache-Control.
  let cacheControl = false;
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') delete headers[name];
    else if (lower === 'cache-control') cacheControl = true;
  }
  headers['Content-Length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  if (!cacheControl) headers['Cache-Control'] = 'no-store';
  res.writeHead(status, headers);
  res.end(head ? undefined : body);
}

function sendText(res: http.ServerResponse, status: number, text: string, head: boolean, extra?: Record<string, string>): void {
  send(res, status, { 'Content-Type': TEXT, ...extra }, text, head);
}

export class MetricsHttpThread {
  private readonly server: http.Server;
  private readonly auth: Authenticator;
  private readonly main: MainThread;
  private readonly renders: Record<ExpositionFormat, Batcher<Rendered>>;
  /** The newest render of each format (kept only when maxRenderAgeMs > 0). */
  private readonly newest: Partial<Record<ExpositionFormat, Rendered>> = {};
  private readonly healths: Record<Probe, Batcher<HealthBody>>;

  constructor(
    private readonly config: ThreadConfig,
    private readonly port: NonNullable<typeof parentPort>,
  ) {
    this.auth = new Authenticator(config.auth);
    this.main = new MainThread(port, config.answerTimeoutMs);
    const render = (format: ExpositionFormat) => async (): Promise<Rendered> => {
      const answer = (await this.main.ask({ type: 'render', format })) as { text: string; begunAtMs: number };
      const r = new Rendered(Buffer.from(answer.text, 'utf8'), answer.begunAtMs);
      if (config.maxRenderAgeMs > 0) {
        const prev = this.newest[format];
        if (prev === undefined || prev.begunAtMs < r.begunAtMs) this.newest[format] = r;
      }
      return r;
    };
    this.renders = { prometheus: new Batcher(render('prometheus')), openmetrics: new Batcher(render('openmetrics')) };
    const health = (probe: Probe) => async (): Promise<HealthBody> => ((await this.main.ask({ type: 'health', probe })) as { body: HealthBody }).body;
    this.healths = { health: new Batcher(health('health')), live: new Batcher(health('live')) };
    this.server = http.createServer(serverOptions(config.limits), (req, res) => this.guard(req, res));
    applyLimits(this.server, config.limits);
    port.on('message', (m: MainToThread) => this.onMessage(m));
  }

  listen(): void {
    const server = this.server;
    const onError = (err: NodeJS.ErrnoException): void => {
      this.port.postMessage({ type: 'listen-error', code: err.code, message: err.message } satisfies ThreadToMain);
      this.port.close();
    };
    server.once('error', onError);
    // A deep accept backlog: a burst of scrapes must not overflow it (a dropped SYN costs the client 1 s).
    server.listen(this.config.port, this.config.host, this.config.backlog, () => {
      server.off('error', onError);
      const a = server.address() as { address: string; port: number; family: string | number };
      this.port.postMessage({ type: 'listening', address: a.address, port: a.port, family: String(a.family) } satisfies ThreadToMain);
    });
  }

  private onMessage(m: MainToThread): void {
    if (m.type === 'close') {
      this.main.failAll('the metrics server is closing');
      this.server.close(() => {
        this.port.postMessage({ type: 'closed' } satisfies ThreadToMain);
        this.port.close();
      });
      this.server.closeAllConnections();
      return;
    }
    this.main.answer(m);
  }

  /** Body limit and credentials first; any exception becomes a bare 500 (never a stack trace, never a crash). */
  private guard(req: http.IncomingMessage, res: http.ServerResponse): void {
    const head = req.method === 'HEAD';
    try {
      const declared = declaredLength(req);
      if (declared !== undefined && declared > this.config.limits.maxBodyBytes) {
        sendText(res, 413, 'Payload Too Large\n', head, { Connection: 'close' });
        return;
      }
      // No route here reads a body; one that is sent is discarded up to the limit (GETs without one skip it).
      if (declared !== 0 && (declared !== undefined || req.headers['transfer-encoding'] !== undefined)) {
        discardBody(req, this.config.limits.maxBodyBytes);
      }
      const url = req.url ?? '/';
      const path = pathOf(url);
      if (path !== '/health' && path !== '/live' && !this.auth.check(req)) {
        sendText(res, 401, 'Unauthorized\n', head, { 'WWW-Authenticate': this.auth.challenge });
        return;
      }
      this.route(req, res, url, path, head);
    } catch {
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n', head);
      else res.destroy();
    }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, url: string, path: string, head: boolean): void {
    if (path !== '/metrics' && path !== '/health' && path !== '/live') {
      if (this.config.hasExtraRoutes) this.extraRoute(req, res, url, path, head);
      else sendText(res, 404, 'Not Found\n', head);
      return;
    }
    if (req.method !== 'GET' && !head) {
      sendText(res, 405, 'Method Not Allowed\n', false, { Allow: ALLOW });
      return;
    }
    if (path === '/metrics') {
      const format = negotiateFormat(req.headers.accept);
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      const serve = (r: Rendered): void => {
        const headers: Record<string, string> = { 'Content-Type': format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, Vary: 'Accept-Encoding' };
        if (gzip) headers['Content-Encoding'] = 'gzip';
        send(res, 200, headers, gzip ? r.gzip() : r.body, head);
      };
      const newest = this.newest[format];
      if (newest !== undefined) {
        const age = clockMs(this.config.manualClock) - newest.begunAtMs;
        if (age <= this.config.maxRenderAgeMs) {
          // Past half its allowed age, refresh it in the background, so that a storm never finds it too old.
          if (age * 2 > this.config.maxRenderAgeMs) this.renders[format].refresh();
          serve(newest);
          return;
        }
      }
      this.renders[format].get().then(
        serve,
        (err: AskError) =>
          err.timedOut ? sendText(res, 503, `metrics unavailable: ${err.message}\n`, head) : sendText(res, 500, `metrics rendering failed: ${err.message}\n`, head),
      );
      return;
    }
    this.healths[path === '/live' ? 'live' : 'health'].get().then(
      (body) => send(res, body.status === 'ready' ? 200 : 503, { 'Content-Type': 'application/json' }, `${JSON.stringify(body)}\n`, head),
      // No answer in time: the worker cannot serve, which is what a probe should learn.
      (err: AskError) => send(res, 503, { 'Content-Type': 'application/json' }, `${JSON.stringify({ status: 'notready', error: err.message })}\n`, head),
    );
  }

  private extraRoute(req: http.IncomingMessage, res: http.ServerResponse, url: string, path: string, head: boolean): void {
    const request = { method: req.method ?? 'GET', url, path, headers: req.headers };
    this.main.ask({ type: 'route', request }).then(
      (answer) => {
        const response = (answer as { response: RouteResponse | null }).response;
        if (response === null) sendText(res, 404, 'Not Found\n', head);
        else send(res, response.status, { ...response.headers }, response.body, head);
      },
      (err: AskError) => sendText(res, err.timedOut ? 503 : 500, `${err.timedOut ? 'unavailable' : 'route failed'}: ${err.message}\n`, head),
    ).catch(() => {
      // writeHead rejected the route's status or headers.
      if (!res.headersSent) sendText(res, 500, 'route failed: invalid status or headers\n', head);
      else res.destroy();
    });
  }
}

if (parentPort !== null && (workerData as { metricsHttpThread?: ThreadConfig } | null)?.metricsHttpThread !== undefined) {
  new MetricsHttpThread((workerData as { metricsHttpThread: ThreadConfig }).metricsHttpThread, parentPort).listen();
}
