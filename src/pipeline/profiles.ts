import { isAbsolute, join, posix } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import type { ConfigIssue } from './errors.ts';
import { formatPath, locate } from './yaml-locate.ts';

/**
 * `profiles:` in lakelet.yml: the same pipelines, other places. A profile changes *locations*
 * only — so what runs on a laptop (`--profile local`, the default) is exactly what runs on Google
 * Cloud (`--profile gcp`), down to keys, ordering, schema policy and batching:
 *
 *   profiles:
 *     gcp:
 *       root: gs://acme-lake/prod          # every relative location resolves against this
 *       pipelines:                         # and single locations may be set outright
 *         accounts: { landing: gs://acme-uploads/accounts }
 *
 * With `root`, a relative location (`./tables/accounts`) becomes `<root>/tables/accounts`, the
 * default stateDir (`.lakelet`) included; absolute paths and URIs stay as written. Without it,
 * relative locations keep resolving against the lakelet.yml folder. `local` needs no entry: it is
 * the locations as written (an entry named local applies like any other).
 *
 * Applied to the document as written, before it is validated, so every other rule of lakelet.yml
 * (schemes, shared landings, archive outside landing) holds for the resolved locations too.
 */

export const DEFAULT_PROFILE = 'local';

/** Keys a profile may set at its top level, and in each pipeline. */
const TOP_LOCATIONS = ['stateDir', 'ingestionLog'] as const;
/**
 * Where the stage and target tables live: `warehouse: delta` (tables at their paths) or `bigquery`
 * (tables of a dataset, `bigquery:` its project, dataset and location). Also a place, so a profile may
 * move the tables into BigQuery (issue 11: one lakelet.yml, Delta on a laptop, BigQuery on GCP); the
 * pipelines stay exactly the same.
 */
const TOP_PLACES = ['warehouse', 'bigquery'] as const;
const PIPELINE_LOCATIONS = ['landing', 'archive', 'quarantine', 'stage', 'target'] as const;

/** Keys of lakelet.yml that are not locations: named as such when a profile tries to change them. */
const NOT_LOCATIONS = new Set([
  'pattern', 'format', 'csv', 'json', 'arrival', 'key', 'orderBy', 'partitionBy', 'transforms', 'schemaDrift',
  'badRecords', 'badRecordsLimit', 'duplicates', 'deletes', 'batch', 'retain', 'properties',
]);

export interface ProfileContext {
  doc: Document;
  lines: LineCounter;
  /** Why a location cannot be used (config.ts locationProblem), or undefined. */
  locationProblem: (location: string) => string | undefined;
}

export interface ProfileResult {
  /** The document as written, with the profile's locations put in and `profiles:` taken out. */
  raw: Record<string, unknown>;
  /** Where a resolved value was written: its own key path, or the profile's key that set it. */
  origin: (path: string[]) => string[];
  /** The profile's issues (config errors); when any, `raw` is not to be used. */
  issues: ConfigIssue[];
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const URI = /^[a-z][a-z0-9+.-]+:\/\//i;

/** The profiles a lakelet.yml defines (local is always one). */
export function profileNames(raw: unknown): string[] {
  const profiles = isObject(raw) && isObject(raw.profiles) ? Object.keys(raw.profiles) : [];
  return [DEFAULT_PROFILE, ...profiles.filter((p) => p !== DEFAULT_PROFILE)];
}

export function applyProfile(written: unknown, profile: string, ctx: ProfileContext): ProfileResult {
  const raw: Raw = isObject(written) ? { ...written } : {};
  const profiles = raw.profiles;
  delete raw.profiles;
  const origins = new Map<string, string[]>();
  const result: ProfileResult = { raw, origin: (path) => origins.get(path.join('\0')) ?? path, issues: [] };
  const issue = (path: (string | number)[], message: string, atKey = false) =>
    result.issues.push({ path: formatPath(path), message, position: locate(ctx.doc, ctx.lines, path, { atKey }) });

  if (profiles !== undefined && !isObject(profiles)) {
    issue(['profiles'], 'expected a map of profile names to their locations (profiles: { gcp: { root: gs://bucket/prefix } })');
    return result;
  }
  const known = profileNames(written);
  const chosen = profiles?.[profile];
  if (chosen === undefined) {
    if (profile === DEFAULT_PROFILE) return result;
    const message = `unknown profile '${profile}' (--profile / LAKELET_PROFILE); this file defines: ${known.join(', ')}${profiles ? '' : " (add a 'profiles:' section to define more)"}`;
    result.issues.push({ path: 'profiles', message, usage: true, ...(profiles ? { position: locate(ctx.doc, ctx.lines, ['profiles'], { atKey: true }) } : {}) });
    return result;
  }
  const at = ['profiles', profile];
  if (chosen !== null && !isObject(chosen)) {
    issue(at, 'expected a map: root, stateDir, ingestionLog, pipelines');
    return result;
  }
  const spec: Raw = chosen ?? {};

  // Check the profile's keys first: a profile that changes a non-location must not half-apply.
  for (const key of Object.keys(spec)) {
    if (key === 'root' || key === 'pipelines' || (TOP_LOCATIONS as readonly string[]).includes(key) || (TOP_PLACES as readonly string[]).includes(key)) continue;
    issue([...at, key], notLocation(key, ['root', ...TOP_LOCATIONS, ...TOP_PLACES, 'pipelines']), true);
  }
  const root = spec.root;
  if (root !== undefined && (typeof root !== 'string' || root.trim() === '')) issue([...at, 'root'], 'expected a location: gs://bucket/prefix, or a folder');
  else if (typeof root === 'string') {
    const problem = ctx.locationProblem(root);
    if (problem) issue([...at, 'root'], problem);
  }
  const overrides = spec.pipelines === undefined || spec.pipelines === null ? {} : spec.pipelines;
  if (!isObject(overrides)) issue([...at, 'pipelines'], 'expected a map of pipeline names to their locations');
  const pipelines = isObject(raw.pipelines) ? raw.pipelines : {};
  if (isObject(overrides)) {
    for (const [name, keys] of Object.entries(overrides)) {
      if (!(name in pipelines)) {
        issue([...at, 'pipelines', name], `no pipeline '${name}' in pipelines: (defined: ${Object.keys(pipelines).join(', ') || 'none'})`, true);
        continue;
      }
      if (!isObject(keys)) {
        issue([...at, 'pipelines', name], `expected a map of locations (${PIPELINE_LOCATIONS.join(', ')})`);
        continue;
      }
      for (const [key, value] of Object.entries(keys)) {
        if (!(PIPELINE_LOCATIONS as readonly string[]).includes(key)) issue([...at, 'pipelines', name, key], notLocation(key, PIPELINE_LOCATIONS), true);
        else if (isObject(pipelines[name]) && pipelines[name][key] === undefined) {
          // A target where the pipeline has none would add a MERGE: not a change of place.
          issue([...at, 'pipelines', name, key], `pipeline '${name}' has no ${key}: a profile may move a ${key}, not add one (add it to the pipeline itself)`, true);
        }
        else if ((key === 'stage' || key === 'target') && isObject(value)) {
          for (const k of Object.keys(value)) if (k !== 'path') issue([...at, 'pipelines', name, key, k], notLocation(k, ['path']), true);
        }
      }
    }
  }
  for (const key of TOP_LOCATIONS) {
    if (key in spec && typeof spec[key] !== 'string') issue([...at, key], 'expected a location (a path or gs://bucket/prefix)');
  }
  if (result.issues.length > 0) return result;

  // Resolve: first the root for every relative location as written, then the explicit overrides
  // (themselves relative to the root when one is given).
  const rooted = (location: string, path: (string | number)[]): string => {
    if (typeof root !== 'string' || URI.test(location) || isAbsolute(location)) return location;
    const rel = posix.normalize(location.replace(/\\/g, '/'));
    if (rel === '..' || rel.startsWith('../')) {
      issue(path, `'${location}' leaves the profile's root (${root}); give this location in the profile instead`);
      return location;
    }
    if (rel === '.' || rel === './') return root;
    return URI.test(root) ? `${root.replace(/\/+$/, '')}/${rel.replace(/^\.\//, '')}` : join(root, rel);
  };
  const setOrigin = (path: string[], from: string[]) => origins.set(path.join('\0'), from);

  if (typeof root === 'string') {
    raw.stateDir = rooted(typeof raw.stateDir === 'string' ? raw.stateDir : '.lakelet', ['stateDir']);
    if (typeof raw.ingestionLog === 'string') raw.ingestionLog = rooted(raw.ingestionLog, ['ingestionLog']);
  }
  for (const key of TOP_LOCATIONS) {
    if (typeof spec[key] === 'string') {
      raw[key] = rooted(spec[key] as string, [...at, key]);
      setOrigin([key], [...at, key]);
    }
  }
  // Validated with the rest of the file (config.ts): a bad value is reported at the profile's line.
  for (const key of TOP_PLACES) {
    if (spec[key] !== undefined) {
      raw[key] = spec[key];
      setOrigin([key], [...at, key]);
    }
  }
  const resolved: Raw = {};
  for (const [name, p] of Object.entries(pipelines)) {
    if (!isObject(p)) {
      resolved[name] = p;
      continue;
    }
    const out: Raw = { ...p };
    const override = isObject(overrides) && isObject(overrides[name]) ? overrides[name] : {};
    for (const key of PIPELINE_LOCATIONS) {
      const mine = override[key];
      if (mine !== undefined) {
        const path = isObject(mine) ? mine.path : mine;
        const from = [...at, 'pipelines', name, key];
        if (typeof path !== 'string' || path === '') {
          issue(from, 'expected a location (a path or gs://bucket/prefix)');
          continue;
        }
        out[key] = setPath(out[key], rooted(path, from));
        setOrigin(['pipelines', name, key], from);
      } else if (out[key] !== undefined) {
        const current = locationOf(out[key]);
        if (current !== undefined) out[key] = setPath(out[key], rooted(current, ['pipelines', name, key]));
      }
    }
    resolved[name] = out;
  }
  if (isObject(raw.pipelines)) raw.pipelines = resolved;
  return result;
}

function notLocation(key: string, allowed: readonly string[]): string {
  if (NOT_LOCATIONS.has(key)) {
    return `'${key}' is not a location: a profile changes only where things are (${allowed.join(', ')}), so that every profile runs the same pipeline; change '${key}' in the pipeline itself`;
  }
  return `unknown key '${key}'; a profile may set ${allowed.join(', ')}`;
}

/** A stage/target value's path (`./x` or `{ path: ./x, … }`). */
function locationOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.path === 'string') return value.path;
  return undefined;
}

/** The value with its location replaced, keeping a stage/target's other settings. */
function setPath(value: unknown, location: string): unknown {
  return isObject(value) ? { ...value, path: location } : location;
}
