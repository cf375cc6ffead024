/**
 * Packages that only some features need (the bench plot's vega and vega-lite, the live page's uPlot) are
 * optional peer dependencies: a consumer who wants the Engine and the collector installs none of them. A
 * feature that needs one loads it here, on first use, and gets an OptionalDependencyError naming the package
 * and the command that installs it when it is missing.
 */
import { OptionalDependencyError } from './errors.js';

function isMissing(err: unknown, name: string): boolean {
  const code = (err as { code?: string }).code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String((err as Error).message).includes(name);
}

function missing(names: readonly string[], feature: string, cause: unknown): OptionalDependencyError {
  return new OptionalDependencyError(`${feature} needs the optional package${names.length > 1 ? 's' : ''} ${names.join(', ')}: npm install ${names.join(' ')}`, { cause });
}

/** Resolves a file of an optional package (e.g. 'uplot/dist/uPlot.min.css'). */
export function resolveOptional(file: string, packages: readonly string[], feature: string): string {
  try {
    return require.resolve(file);
  } catch (err) {
    if (isMissing(err, file.split('/')[0]!)) throw missing(packages, feature, err);
    throw err;
  }
}

/** Imports an optional ES module package. */
export async function importOptional<T>(name: string, packages: readonly string[], feature: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    if (isMissing(err, name)) throw missing(packages, feature, err);
    throw err;
  }
}
