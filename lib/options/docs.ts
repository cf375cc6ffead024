/**
 * docs/options.md, made from the tables (scripts/gen-options-doc.mjs writes it; a test checks it is current).
 */
import { describeSchema } from './check.js';
import { defaultText } from './command-line.js';
import { leaves, type Command, type Tree } from './define.js';
import { BENCH_OPTIONS } from './bench-table.js';
import { ENGINE_OPTIONS } from './engine-table.js';
import { METRICS_SERVER_OPTIONS } from './server-table.js';
import { KV_PUBLISHER_OPTIONS, KV_SUBSCRIBER_OPTIONS } from './fleet-table.js';
import { WORKER_OPTIONS } from './worker-table.js';

function cell(s: string | undefined): string {
  return (s ?? '').replace(/\|/g, '\\|');
}

function table(tree: Tree, opts: { skip?: readonly string[]; command?: Command; prefix?: string }): string[] {
  const rows = ['| option | flag | type and range | unit | default | backend | sets | what it does |', '|---|---|---|---|---|---|---|---|'];
  for (const e of leaves(tree)) {
    if (opts.skip?.includes(e.path[0]!)) continue;
    const m = e.leaf.meta;
    const spellings = m.flag !== undefined ? [m.flag, ...(m.aliases ?? [])].map((f) => `\`--${f}\``).join(', ') : '';
    const flag = m.flag !== undefined && m.commands !== undefined ? `${spellings} (${m.commands.join(', ')})` : '';
    const d = defaultText(e.leaf, opts.command);
    const byCommand = m.commandDefault ? Object.entries(m.commandDefault).map(([c, v]) => `; ${c}: ${String(v)}`).join('') : '';
    const env = m.env !== undefined ? `; env ${m.env}` : m.fromEnv !== undefined ? `; env ${m.fromEnv.names.join(', ')}` : '';
    rows.push(
      `| \`${(opts.prefix ?? '') + e.path.join('.')}\` | ${flag} | ${cell(describeSchema(e.leaf.schema).replace(/^an? /, ''))} | ${cell(m.unit)} | ${cell(d)}${cell(byCommand)}${env} | ${e.backend ?? 'any'} | ${cell(m.maps)} | ${cell(m.help)} |`,
    );
  }
  return rows;
}

export function optionsMarkdown(): string {
  return [
    '# Options',
    '',
    '<!-- Made by `node scripts/gen-options-doc.mjs` from lib/options/*-table.ts; do not edit by hand. -->',
    '',
    'Every option of the package is defined once, in a table under lib/options/ (type, range, unit, default,',
    'backend, command-line flag, what it sets). The TypeScript types, the validation of `Engine.create()`,',
    '`Worker.start()`, `MetricsServer`, the `serve` and `bench` flags, their `--help`, the `--config FILE` keys and',
    'this page are all derived from those tables. The native layer (native/napi) converts types and checks only',
    'what protects memory; it does not restate the ranges. See "Why TypeBox" at the end.',
    '',
    'Command lines: a flag wins over the `--config FILE` key of the same name (kebab-case or camelCase), which wins',
    'over the environment variable named in the table, which wins over the default. A bad value is one line on',
    'stderr naming the flag, key or variable, and exit code 2.',
    '',
    '## Engine (`Engine.create(options)`; `serve` and `bench` flags)',
    '',
    ...table(ENGINE_OPTIONS, {}),
    '',
    'Rules joining options: `engineDir` is required with backend `trtllm`; `sim.lockstep` needs `sim.virtualClock`;',
    'options of one backend are errors with the other; `modelName` defaults to `sim-llama` or the engine',
    "directory's name.",
    '',
    '## Worker (`Worker.start(options)`, `trtllm-metrics serve`)',
    '',
    'The worker also takes every engine option above under `engine`, with `serve`\'s defaults.',
    '',
    ...table(WORKER_OPTIONS, { skip: ['engine'], command: 'serve' }),
    '',
    '## Metrics server (`new MetricsServer(options)`)',
    '',
    ...table(METRICS_SERVER_OPTIONS, {}),
    '',
    '## Benchmark harness (`trtllm-metrics bench`)',
    '',
    'The in-process simulator also takes the engine flags marked `bench` above.',
    '',
    ...table(BENCH_OPTIONS, { skip: ['engine'], command: 'bench' }),
    '',
    '## KV-event publisher (`KvEventPublisher.start(options)`; `serve` flags)',
    '',
    'The worker takes the same options under `kvEvents` (the flags below) and sets `blockSize` and `modelName`',
    "from its engine. At least one of `endpoint` and `nats` is needed; `replayEndpoint` needs `endpoint`. docs/fleet.md.",
    '',
    ...table(KV_PUBLISHER_OPTIONS, { command: 'serve' }),
    '',
    '## KV-event subscriber (`trtllm-metrics kv-events`)',
    '',
    ...table(KV_SUBSCRIBER_OPTIONS, { command: 'kv-events' }),
    '',
    '## Adding an option',
    '',
    'One `opt()` row in the table of its part: its TypeBox schema (type and range) and its metadata. An engine',
    'option the executor already takes also needs its one line of type conversion in native/napi (the setter',
    'call); nothing else restates it.',
    '',
    '## Why TypeBox',
    '',
    '[TypeBox](https://github.com/sinclairzx81/typebox) (`@sinclair/typebox`) builds JSON Schema objects whose',
    'static types TypeScript infers, and compiles them into fast checkers. The tables need exactly that: a',
    'schema per option that gives the type (no hand-written interface to keep in sync), a range that both the',
    'checker and the generated docs and `--help` read, and a plain JSON Schema that ajv or any editor can use.',
    'zod would give the types and the checks too, but its schemas are opaque objects: the range of an option',
    'could not be read back to print it. Messages are worded here from the schema (the option\'s full path or',
    'flag, what it accepts, the value given), which neither library\'s default messages do.',
    '',
  ].join('\n');
}
