/**
 * LoRA adapters on the OpenAI API. `serve --lora-modules name=taskId,...` registers adapters by name, the way
 * vLLM's --lora-modules does; a request names one as its `model` (vLLM) or in `lora_request` (trtllm-serve's
 * extension: lora_int_id is the task id, lora_name a registered name). The engine gets the task id as its
 * LoraConfig; /v1/models lists the registered adapters with the base model as their parent.
 */
import { InvalidArgumentError } from '../errors.js';
import { ApiError, invalidValue, unknownField } from './errors.js';

/** Adapter name -> LoRA task id. */
export type LoraModules = ReadonlyMap<string, number>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** Parses "name=taskId,name=taskId" (the --lora-modules syntax); throws InvalidArgumentError naming the entry. */
export function parseLoraModules(text: string, option = '--lora-modules'): Map<string, number> {
  const modules = new Map<string, number>();
  for (const entry of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq) : '';
    const id = eq > 0 ? entry.slice(eq + 1) : '';
    if (!NAME.test(name) || !/^\d+$/.test(id) || !Number.isSafeInteger(Number(id))) {
      throw new InvalidArgumentError(`${option}: "${entry}" must be NAME=TASK_ID (a name of letters, digits, ._:/- and a non-negative integer task id)`);
    }
    if (modules.has(name)) throw new InvalidArgumentError(`${option}: adapter "${name}" is listed twice`);
    modules.set(name, Number(id));
  }
  return modules;
}

/** The check of the option table: what is wrong with the text, or undefined. */
export function checkLoraModules(text: string): string | undefined {
  try {
    parseLoraModules(text, 'the value');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const LORA_REQUEST_FIELDS = new Set(['lora_name', 'lora_int_id', 'lora_path']);

/**
 * The task id a request asks for, or undefined: `lora_request` when present, else the adapter its `model`
 * names (undefined for the base model).
 */
export function loraTaskIdOf(model: string, loraRequest: unknown, modules: LoraModules): number | undefined {
  if (loraRequest !== undefined && loraRequest !== null) {
    if (typeof loraRequest !== 'object' || Array.isArray(loraRequest)) {
      throw new ApiError(400, "'lora_request' must be an object with lora_int_id (and optionally lora_name)", 'invalid_request_error', 'lora_request', 'invalid_type');
    }
    const r = loraRequest as Record<string, unknown>;
    for (const key of Object.keys(r)) if (!LORA_REQUEST_FIELDS.has(key)) throw unknownField(`lora_request.${key}`);
    const id = r.lora_int_id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw invalidValue('lora_request.lora_int_id', `'lora_request.lora_int_id' must be a non-negative integer (the LoRA task id), got ${JSON.stringify(id)}`);
    }
    if (r.lora_name !== undefined) {
      if (typeof r.lora_name !== 'string') throw invalidValue('lora_request.lora_name', "'lora_request.lora_name' must be a string");
      const registered = modules.get(r.lora_name);
      if (registered !== undefined && registered !== id) {
        throw invalidValue('lora_request.lora_int_id', `adapter "${r.lora_name}" has task id ${registered}, not ${id}`);
      }
    }
    if (r.lora_path !== undefined && typeof r.lora_path !== 'string') throw invalidValue('lora_request.lora_path', "'lora_request.lora_path' must be a string");
    return id;
  }
  return modules.get(model);
}

/** /v1/models entries of the adapters (vLLM's shape: the base model is their parent). */
export function adapterModels(modules: LoraModules, base: string, created: number, ownedBy = 'trtllm-metrics'): object[] {
  return [...modules].map(([name, taskId]) => ({ id: name, object: 'model', created, owned_by: ownedBy, root: `lora:${taskId}`, parent: base }));
}
