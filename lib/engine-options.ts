/**
 * The engine's options as the API sees them: their types come from the option table
 * (lib/options/engine-table.ts), and validateEngineOptions() checks a caller's object against it, fills in
 * the table's defaults and applies the few rules that join two options. JS validates; C++ works.
 */
import { InvalidArgumentError } from './errors.js';
import { resolveTree } from './options/check.js';
import type { Command, OptionsOf, ResolvedOf } from './options/define.js';
import { ENGINE_OPTIONS } from './options/engine-table.js';
import { resolveModelConfig, type ModelDims } from './sim/model-config.js';

export type EngineOptions = OptionsOf<typeof ENGINE_OPTIONS>;
/** tensorrt_llm::executor::ExecutorConfig (the subset this package maps). */
export type ExecutorConfigOptions = NonNullable<EngineOptions['executorConfig']>;
/** tensorrt_llm::executor::KvCacheConfig. */
export type KvCacheConfigOptions = NonNullable<ExecutorConfigOptions['kvCacheConfig']>;
/** The simulator's own knobs (docs/simulator.md). Times in milliseconds of modelled GPU time. */
export type SimOptions = NonNullable<EngineOptions['sim']>;
/** Capacities and intervals of the bridge between the executor and JS. */
export type BridgeOptions = NonNullable<EngineOptions['bridge']>;
export type CapacitySchedulerPolicy = NonNullable<ExecutorConfigOptions['capacitySchedulerPolicy']>;
export type Backend = NonNullable<EngineOptions['backend']>;

type ResolvedTable = ResolvedOf<typeof ENGINE_OPTIONS>;
type ResolvedSim = ResolvedTable['sim'];
/** The simulator's options as the addon takes them: --model-config resolved into the model's dimensions. */
export type NativeSimOptions = ResolvedSim & { perf: ResolvedSim['perf'] & { model?: ModelDims } };

export interface ResolvedEngineOptions {
  backend: Backend;
  modelName: string;
  shutdownGraceMs: number;
  latestStatsCapacity: number;
  latestEventsCapacity: number;
  /** What the addon receives: every option of the table, defaults filled in. */
  native: Pick<ResolvedTable, 'engineDir' | 'executorConfig' | 'bridge'> & { sim: NativeSimOptions };
}

/** Names an option in messages: an API path ("options.sim.lockstep") or, on a command line, its flag. */
export type OptionNamer = (path: string) => string;

const apiName: OptionNamer = (path) => `options.${path}`;

/**
 * Validates engine options against the table and fills in its defaults. Throws InvalidArgumentError naming
 * the option and what it accepts. `command` picks a command's defaults (e.g. serve's KV event buffer).
 */
export function validateEngineOptions(options: unknown, command?: Command, name: OptionNamer = apiName): ResolvedEngineOptions {
  const raw = options === undefined || options === null || typeof options !== 'object' ? undefined : (options as { backend?: unknown }).backend;
  const backend: Backend = raw === 'trtllm' ? 'trtllm' : 'sim';
  const r = resolveTree(ENGINE_OPTIONS, options ?? {}, { root: 'options', backend, command });
  if (r.backend === 'trtllm' && r.engineDir === undefined) {
    throw new InvalidArgumentError(`${name('engineDir')} is required with backend "trtllm" (a TensorRT-LLM engine directory)`);
  }
  // The sim group is absent with backend trtllm (options limited to the other backend get no defaults).
  const sim = r.sim as ResolvedSim | undefined;
  if (sim?.lockstep === true && sim.virtualClock !== true) {
    throw new InvalidArgumentError(`${name('sim.lockstep')} needs ${name('sim.virtualClock')}: true`);
  }
  const kv = r.executorConfig.kvCacheConfig;
  if (sim !== undefined) checkFaults(sim.faults, kv.eventBufferMaxSize, name);
  if (kv.hostCacheSize > 0 && kv.enableBlockReuse === false) {
    throw new InvalidArgumentError(`${name('executorConfig.kvCacheConfig.hostCacheSize')} needs block reuse (the host tier keeps reusable blocks; drop ${name('executorConfig.kvCacheConfig.enableBlockReuse')}: false)`);
  }
  const nativeSim = sim === undefined ? undefined : withModel(sim, options, name);
  const modelName = r.modelName ?? (r.backend === 'sim' ? 'sim-llama' : r.engineDir!.replace(/\/+$/, '').split('/').pop() || 'trtllm');
  return {
    backend: r.backend,
    modelName,
    shutdownGraceMs: r.shutdownGraceMs,
    latestStatsCapacity: r.latestStatsCapacity,
    latestEventsCapacity: r.latestEventsCapacity,
    native: { engineDir: r.engineDir, executorConfig: r.executorConfig, sim: nativeSim as NativeSimOptions, bridge: r.bridge },
  };
}

/** The rules joining the fault options: a fault that cannot fire as given is an error, not a silent no-op. */
function checkFaults(f: ResolvedSim['faults'], eventBufferMaxSize: number, name: OptionNamer): void {
  const stallWhen = f.stallAtIteration !== undefined || f.stallProbability > 0;
  if (f.stallMs > 0 && !stallWhen) {
    throw new InvalidArgumentError(`${name('sim.faults.stallMs')} needs ${name('sim.faults.stallAtIteration')} or ${name('sim.faults.stallProbability')}`);
  }
  if (stallWhen && f.stallMs === 0) {
    throw new InvalidArgumentError(`${name(f.stallAtIteration !== undefined ? 'sim.faults.stallAtIteration' : 'sim.faults.stallProbability')} needs ${name('sim.faults.stallMs')} above 0`);
  }
  if (f.slowIterationProbability > 0 && f.slowIterationFactor === 1) {
    throw new InvalidArgumentError(`${name('sim.faults.slowIterationProbability')} needs ${name('sim.faults.slowIterationFactor')} other than 1`);
  }
  if ((f.kvEventBurstAtIteration !== undefined) !== (f.kvEventBurstSize > 0)) {
    throw new InvalidArgumentError(`${name('sim.faults.kvEventBurstAtIteration')} and ${name('sim.faults.kvEventBurstSize')} (above 0) go together`);
  }
  if (f.kvEventBurstSize > 0 && eventBufferMaxSize === 0) {
    throw new InvalidArgumentError(`${name('sim.faults.kvEventBurstSize')} needs KV events on: ${name('executorConfig.kvCacheConfig.eventBufferMaxSize')} above 0`);
  }
}

/** The performance model's settings that mean nothing without a model. */
const NEEDS_MODEL = ['gpu', 'quant', 'kvCacheDtype', 'tp'] as const;

/**
 * Resolves sim.perf.modelConfig into the model's dimensions. The model's other settings need it: one set to
 * something other than its default without a model is an error (a caller such as the worker may already have
 * filled in the defaults).
 */
function withModel(sim: ResolvedSim, options: unknown, name: OptionNamer): NativeSimOptions {
  const modelConfig = sim.perf.modelConfig;
  if (modelConfig === undefined) {
    const given = (options as { sim?: { perf?: Record<string, unknown> } } | undefined)?.sim?.perf ?? {};
    const defaults = ENGINE_OPTIONS.sim.members.perf.members;
    for (const key of NEEDS_MODEL) {
      if (given[key] !== undefined && given[key] !== defaults[key].meta.default) {
        throw new InvalidArgumentError(`${name(`sim.perf.${key}`)} needs ${name('sim.perf.modelConfig')} (the performance model needs a model)`);
      }
    }
    return sim;
  }
  return { ...sim, perf: { ...sim.perf, model: resolveModelConfig(modelConfig, name('sim.perf.modelConfig')) } };
}
