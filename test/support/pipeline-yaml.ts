import { stringify } from 'yaml';

/**
 * lakelet.yml for pipeline tests, built from what a test changes instead of spelled out again in
 * every file. Values are what the YAML means (`{ cast: 'INTEGER' }`, `0.5`, `'25%'`), so a test
 * reads as the keys it is about. Tests where the YAML text itself is the point (line:column in
 * errors, the starter file) keep it inline.
 */

/** One pipeline's keys as lakelet.yml spells them; a key set to undefined is left out. */
export type PipelineKeys = Record<string, unknown>;

/** The pipeline most tests need: CSV from ./landing, staged and upserted by `id`, archive and quarantine beside. */
export const PIPELINE_DEFAULTS: Readonly<PipelineKeys> = {
  landing: './landing',
  format: 'csv',
  stage: './tables/stage',
  target: './tables/target',
  key: 'id',
  archive: './archive',
  quarantine: './quarantine',
};

export interface YamlOptions {
  /** The pipeline's name (default `p`). */
  name?: string;
  /** Top-level stateDir (default: none, the config folder's own). */
  stateDir?: string;
}

/** lakelet.yml with one pipeline: {@link PIPELINE_DEFAULTS} with `keys` changed or added. */
export function pipelineYaml(keys: PipelineKeys = {}, options: YamlOptions = {}): string {
  return lakeletYaml({ [options.name ?? 'p']: { ...PIPELINE_DEFAULTS, ...keys } }, options);
}

/** lakelet.yml with each pipeline spelled out whole (no defaults). */
export function lakeletYaml(pipelines: Record<string, PipelineKeys>, options: Omit<YamlOptions, 'name'> = {}): string {
  const doc: Record<string, unknown> = {};
  if (options.stateDir !== undefined) doc.stateDir = options.stateDir;
  doc.pipelines = Object.fromEntries(Object.entries(pipelines).map(([name, keys]) => [name, defined(keys)]));
  return stringify(doc);
}

function defined(keys: PipelineKeys): PipelineKeys {
  return Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined));
}
