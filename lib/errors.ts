/** Base class of every error this package throws. `code` is stable; match on it, not on the message. */
export class TrtllmMetricsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option, request field or argument has a bad type or value. The message names it. */
export class InvalidArgumentError extends TrtllmMetricsError {
  constructor(message: string) {
    super('ERR_TRTLLM_INVALID_ARGUMENT', message);
  }
}

/** The requested backend is not compiled into this build (e.g. `trtllm` without TRTLLM_ROOT). */
export class BackendUnavailableError extends TrtllmMetricsError {
  constructor(message: string) {
    super('ERR_TRTLLM_BACKEND_UNAVAILABLE', message);
  }
}

/** The engine was shut down (or is shutting down) and cannot take this call. */
export class EngineClosedError extends TrtllmMetricsError {
  constructor(message = 'the engine is shut down') {
    super('ERR_TRTLLM_ENGINE_CLOSED', message);
  }
}

/** The executor rejected or failed a request (its error Response); `requestId` names it. */
export class RequestFailedError extends TrtllmMetricsError {
  readonly requestId: number;
  constructor(requestId: number, message: string) {
    super('ERR_TRTLLM_REQUEST_FAILED', message);
    this.requestId = requestId;
  }
}

/** The executor threw (construction, enqueue on a full queue, ...): its message is kept. */
export class ExecutorError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }, code = 'ERR_TRTLLM_EXECUTOR') {
    super(code, message, options);
  }
}

/**
 * The executor itself failed (a fatal error of its forward step; the engine's status is `failed`): every request
 * in flight settled with this error, and every new one gets it too. An ExecutorError.
 */
export class ExecutorFailedError extends ExecutorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_TRTLLM_EXECUTOR_FAILED');
  }
}

/** The native addon could not be loaded (not built, or built for another Node ABI). */
export class AddonLoadError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_ADDON_LOAD', message, options);
  }
}

/** A bad command line, config file or environment variable of the CLI; the message is one line naming it (exit code 2). */
export class UsageError extends TrtllmMetricsError {
  constructor(message: string) {
    super('ERR_TRTLLM_USAGE', message);
  }
}

/** A feature needs an optional package that is not installed (e.g. vega-lite for `bench --plot`); the message says how to install it. */
export class OptionalDependencyError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_OPTIONAL_DEPENDENCY', message, options);
  }
}

/** A tokenizer folder (or chat template file) that cannot be used: the message names the file and the problem. */
export class TokenizerError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_TOKENIZER', message, options);
  }
}

/** The chat template rejected the conversation (raise_exception, a missing variable, a role it does not know). */
export class ChatTemplateError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_CHAT_TEMPLATE', message, options);
  }
}

/** A KV-event transport (ZeroMQ, NATS) could not bind, connect or create its stream; the message names the endpoint. */
export class KvTransportError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_KV_TRANSPORT', message, options);
  }
}
