import type { LakeletConfig } from '../pipeline/config.ts';
import { usageError } from './errors.ts';

/**
 * `-p/--pipeline <names>` of the commands that read lakelet.yml: a name the file does not define is
 * wrong usage (exit code 2), caught before anything is opened or run.
 */
export function assertKnownPipelines(config: LakeletConfig, names: readonly string[] | undefined): void {
  const unknown = (names ?? []).filter((n) => !config.pipelines.some((p) => p.name === n));
  if (unknown.length) throw usageError(`no pipeline named ${unknown.join(', ')} in ${config.file} (it has ${config.pipelines.map((p) => p.name).join(', ')}); name one of those`);
}
