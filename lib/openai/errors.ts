/**
 * OpenAI's error JSON: `{"error": {"message", "type", "param", "code"}}` with the HTTP status it goes with.
 * Every error the API port answers is an ApiError; `errorType` is the error_type label it counts under in
 * dynamo_component_errors_total (docs/worker.md).
 */
import { EngineClosedError, ExecutorError, ExecutorFailedError, InvalidArgumentError, RequestFailedError, TrtllmMetricsError } from '../errors.js';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An HTTP error answer of the API port (code ERR_TRTLLM_API); `openaiCode` is the body's `code` field. */
export class ApiError extends TrtllmMetricsError {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly openaiCode: string | null = null,
    /** The error_type label of dynamo_component_errors_total. */
    readonly errorType = 'invalid_message',
  ) {
    super('ERR_TRTLLM_API', message);
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.openaiCode } };
  }
}

/** 400 for a field with a bad value (names the field). */
export function invalidValue(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'invalid_value');
}

/** 400 for a field OpenAI knows but this server does not support with the given value. */
export function unsupported(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'unsupported_value');
}

/** 400 for a field OpenAI's API does not have (OpenAI answers these the same way). */
export function unknownField(param: string): ApiError {
  return new ApiError(400, `Unrecognized request argument supplied: ${param}`, 'invalid_request_error', param, 'unknown_parameter');
}

export function missingField(param: string): ApiError {
  return new ApiError(400, `you must provide a ${param} parameter`, 'invalid_request_error', param, 'missing_required_parameter');
}

export function invalidJson(detail: string): ApiError {
  return new ApiError(
    400,
    `We could not parse the JSON body of your request (${detail}). The request body must be a JSON object.`,
    'invalid_request_error',
    null,
    'invalid_json',
    'deserialization',
  );
}

export function modelNotFound(model: string): ApiError {
  return new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model', 'model_not_found');
}

export function notFound(method: string, path: string): ApiError {
  return new ApiError(404, `Invalid URL (${method} ${path})`, 'invalid_request_error', null, 'not_found');
}

export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): ApiError {
  return new ApiError(405, `Method ${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, 'invalid_request_error', null, 'method_not_allowed');
}

export function payloadTooLarge(limit: number): ApiError {
  return new ApiError(413, `The request body exceeds the limit of ${limit} bytes`, 'invalid_request_error', null, 'payload_too_large');
}

/** 401: credentials missing or wrong (the server was started with --auth-token / --basic-auth). */
export function unauthorized(): ApiError {
  return new ApiError(401, 'Missing or invalid credentials: send the Authorization header the server was configured with', 'invalid_request_error', null, 'invalid_api_key');
}

export function unavailable(message: string): ApiError {
  return new ApiError(503, message, 'server_error', null, 'service_unavailable', 'generate');
}

export function internal(message: string): ApiError {
  return new ApiError(500, message, 'server_error', null, 'internal_error', 'generate');
}

/**
 * Maps an engine error to an HTTP error: bad input (InvalidArgumentError, or an executor that rejected the
 * request as invalid) is 400; a closed or failed engine or a full queue is 503; anything else is 500.
 */
export function fromEngineError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof InvalidArgumentError) return new ApiError(400, err.message, 'invalid_request_error', null, 'invalid_value');
  if (err instanceof EngineClosedError) return unavailable('The engine is shutting down; retry on another worker');
  if (err instanceof ExecutorFailedError) return unavailable(`The engine failed; retry on another worker (${err.message})`);
  if (err instanceof ExecutorError) return unavailable(`The engine cannot take the request now: ${err.message}`);
  if (err instanceof RequestFailedError) {
    if (/invalid request|exceed|must be|out of range/i.test(err.message)) {
      return new ApiError(400, err.message, 'invalid_request_error', null, 'invalid_value');
    }
    return internal(err.message);
  }
  return internal('Internal server error');
}
