import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { WAREHOUSES, type BigQuerySettings, type WarehouseKind } from '../warehouse/open-warehouse.ts';
import { bigquerySchema } from './bigquery-config.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { formatPath, locate } from './yaml-locate.ts';
import { resolveSource, sourcesSchema, type SourceConfig } from './source-config.ts';
import { applyProfile, DEFAULT_PROFILE } from './profiles.ts';
import { credentialIssues } from './config-credentials.ts';

/**
 * The pipeline definition (`lakelet.yml`): several named pipelines, each watching one landing
 * folder. Paths are relative to the YAML file. Validated with zod; every problem is reported with
 * its key path and line:column in the file.
 *
 * Nested documents feeding several tables (seed 001: `{customers: [...], subscriptions: [...]}`):
 * pipelines may share a landing folder only when each selects its own `json.path`. Each such
 * pipeline takes every file on its own (own batches, manifests, txns, log rows); a file leaves the
 * landing folder — archived by the last pipeline to take it — only when all of them have. Any
 * other pipeline owns its landing folder alone, since archiving moves files away.
 */

/** Names a writer uses while a file is still being written (write-then-rename): never taken. */
export const DEFAULT_IGNORE = ['*.tmp', '*.temp', '*.part', '*.partial', '*.crdownload', '*._COPYING_', '*.filepart', '*.swp'] as const;

const name = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, _ . - (no spaces or slashes)');
const column = z.string().min(1, 'a column name cannot be empty');
const byteSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*([kmgt]i?b?|b)?\s*$/i, "a size like 1048576, '64MB' or '1GiB'"),
]);

const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/i, "a duration like 500ms, '2s', '10m', '7d'"),
]);
const properties = z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({});
const share = z.union([
  z.number().min(0).max(1),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*%\s*$/, "a share like 0.1 or '10%'")
    .refine((v) => Number(v.replace('%', '')) <= 100, 'a share of at most 100%'),
]);

/** `stage:` / `target:` are a path, or an object with the path and table settings. */
const stageSchema = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1),
      retain: z.union([duration, z.literal('forever'), z.literal('truncate-after-merge')]).optional(),
      properties,
    })
    .strict(),
]);
const targetSchema = z.union([z.string().min(1), z.object({ path: z.string().min(1), properties }).strict()]);

const arrivalSchema = z
  .object({
    stable: duration.default('1s'),
    /** A text file must end with a complete record (final newline, or the closing bracket of a JSON document). */
    requireCompleteRecord: z.boolean().default(true),
    incompleteTimeout: duration.default('10m'),
    /** none; success: a `_SUCCESS` file in the file's folder; done: a `<name>.done` file beside it. */
    marker: z.enum(['none', 'success', 'done']).default('none'),
    /** Name patterns never taken (temporary names of writers that write, then rename). */
    ignore: z.array(z.string().min(1)).default([...DEFAULT_IGNORE]),
  })
  .strict();

const transformSchema = z
  .object({
    epoch: z.enum(['seconds', 'millis', 'micros', 'auto']).optional(),
    rename: column.optional(),
    cast: z.string().regex(/^[A-Za-z][A-Za-z0-9_ (),]*$/, "a DuckDB type like 'INTEGER', 'DECIMAL(18,2)', 'DATE'").optional(),
  })
  .strict()
  .refine((t) => !(t.epoch && t.cast), { message: 'use either epoch or cast on a column, not both (epoch already gives a UTC timestamp)' });

const csvSchema = z
  .object({
    delimiter: z.string().min(1).max(4).optional(),
    header: z.boolean().optional(),
    quote: z.string().max(1).optional(),
    escape: z.string().max(1).optional(),
    nullString: z.string().optional(),
    dateFormat: z.string().optional(),
    timestampFormat: z.string().optional(),
  })
  .strict();

const pipelineSchema = z
  .object({
    landing: z.string().min(1),
    pattern: z.string().min(1).default('*'),
    format: z.enum(['csv', 'json', 'ndjson', 'parquet']),
    csv: csvSchema.default({}),
    json: z.object({ repair: z.boolean().default(false), path: z.string().min(1).optional() }).strict().default({ repair: false }),
    arrival: arrivalSchema.default({ stable: '1s', requireCompleteRecord: true, incompleteTimeout: '10m', marker: 'none', ignore: [...DEFAULT_IGNORE] }),
    stage: stageSchema,
    target: targetSchema.optional(),
    key: z.union([column, z.array(column).min(1)]).optional(),
    orderBy: column.optional(),
    partitionBy: z.union([column, z.array(column)]).default([]),
    transforms: z.record(column, transformSchema).default({}),
    schemaDrift: z.enum(['evolve', 'rescue', 'fail', 'ignore']).default('evolve'),
    /** What happens to a record that cannot be read or cast: see README, "Bad records". */
    badRecords: z.enum(['quarantine-file', 'rescue', 'fail-file']).default('quarantine-file'),
    badRecordsLimit: share.default(0.1),
    /** content: a file whose sha256 was already applied is a duplicate whatever its name; name-and-content: only under the same name. */
    duplicates: z.enum(['content', 'name-and-content']).default('content'),
    deletes: z
      .object({ column, values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) })
      .strict()
      .optional(),
    archive: z.string().min(1),
    quarantine: z.string().min(1),
    batch: z.object({ maxFiles: z.number().int().positive().default(100), maxBytes: byteSize.default('256MB') }).strict().default({ maxFiles: 100, maxBytes: '256MB' }),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.target && !p.key) ctx.addIssue({ code: 'custom', path: ['key'], message: 'a pipeline with a target needs a key (the MERGE columns)' });
    if (typeof p.stage !== 'string' && p.stage.retain === 'truncate-after-merge' && !p.target) {
      ctx.addIssue({ code: 'custom', path: ['stage', 'retain'], message: 'truncate-after-merge needs a target: without one the stage table is where the data stays' });
    }
    if (p.json.path && p.format !== 'json' && p.format !== 'ndjson') ctx.addIssue({ code: 'custom', path: ['json', 'path'], message: 'json.path applies to format json or ndjson only' });
  });

const fileSchema = z
  .object({
    warehouse: z.enum(WAREHOUSES).default('delta'),
    bigquery: bigquerySchema.optional(),
    stateDir: z.string().min(1).default('.lakelet'),
    ingestionLog: z.string().min(1).optional(),
    pipelines: z.record(name, pipelineSchema).default({}),
    /** Databases synced by `lakelet sync` (source-config.ts). */
    sources: sourcesSchema.default({}),
  })
  .strict()
  .refine((f) => Object.keys(f.pipelines).length > 0 || Object.keys(f.sources).length > 0, { message: 'define at least one pipeline (or a source under sources:)', path: ['pipelines'] });

type RawPipeline = z.infer<typeof pipelineSchema>;
type RawArrival = z.infer<typeof arrivalSchema>;

/** A column's `transforms:` entry, as written. */
export type TransformSpec = z.infer<typeof transformSchema>;

/** `csv:` options, as written. */
export type CsvDialect = z.infer<typeof csvSchema>;

/**
 * One pipeline, with every path absolute. Settings that need no resolving keep the schema's types;
 * the rest (paths, sizes, durations, shares, one-or-many columns) are declared here in their
 * resolved form.
 */
export interface PipelineConfig
  extends Pick<RawPipeline, 'pattern' | 'format' | 'csv' | 'json' | 'orderBy' | 'transforms' | 'schemaDrift' | 'badRecords' | 'duplicates' | 'deletes'> {
  name: string;
  landing: string;
  /** When a landed file counts as complete (see README, "Landing files safely"). */
  arrival: ArrivalPolicy;
  stage: string;
  /** How long merged batches stay in the stage table: ms, forever, or removed right after the MERGE. */
  stageRetain: number | 'forever' | 'truncate-after-merge';
  /** Delta table properties set when the stage / target table is created (e.g. delta.enableChangeDataFeed). */
  stageProperties: Record<string, string>;
  target?: string;
  targetProperties: Record<string, string>;
  key: string[];
  partitionBy: string[];
  /** Above this share of bad records (0..1) the whole file is quarantined. */
  badRecordsLimit: number;
  archive: string;
  quarantine: string;
  batch: { maxFiles: number; maxBytes: number };
  /** Where this pipeline's batch manifests and lock live. */
  stateDir: string;
  /** Other pipelines reading the same landing folder: a file leaves it only when all have taken it. */
  siblings: string[];
}

/** `arrival:` with its durations in ms. */
export interface ArrivalPolicy extends Pick<RawArrival, 'requireCompleteRecord' | 'marker' | 'ignore'> {
  /** Size and mtime must have been unchanged this long (ms). */
  stableMs: number;
  /** A file still incomplete after this long (ms) is quarantined: its writer most likely died. */
  incompleteTimeoutMs: number;
}

export interface LakeletConfig {
  file: string;
  /** The profile whose locations these are (`profiles:` in lakelet.yml; `local` by default). */
  profile?: string;
  /** Where stage and target tables live and MERGE runs (`delta`: the embedded engine). */
  warehouse: WarehouseKind;
  /** Where BigQuery tables live (`bigquery:`; with `warehouse: bigquery`). */
  bigquery?: BigQuerySettings;
  stateDir: string;
  ingestionLog: string;
  pipelines: PipelineConfig[];
  /** Databases `lakelet sync` reads (sources:). */
  sources: SourceConfig[];
}

/**
 * Which `profiles:` entry to apply (default `local`: the locations as written). loadConfig falls
 * back to LAKELET_PROFILE, so whatever loads lakelet.yml (the CLI, a Cloud Function entry) honours it.
 */
export interface ConfigOptions {
  profile?: string;
}

export function loadConfig(file: string, options: ConfigOptions = {}): LakeletConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(path, [{ path: '', message: "no such file: pass -c <your lakelet.yml>, or write a starter one here with 'lakelet init'", usage: true }]);
    throw new ConfigError(path, [{ path: '', message: `cannot read the file (${code ?? (err as Error).message}); pass -c <lakelet.yml>` }]);
  }
  return parseConfig(text, path, { ...options, profile: options.profile ?? (process.env.LAKELET_PROFILE || undefined) });
}

export function parseConfig(text: string, file: string, options: ConfigOptions = {}): LakeletConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first YAML error only: one misplaced indent makes the parser report every line after it
    // again (a dozen lines of the same complaint), which buries the one to fix.
    const [first] = doc.errors;
    const pos = first.linePos?.[0];
    const more = doc.errors.length - 1;
    const message = first.message.split('\n')[0].replace(/:\s*$/, '') + (more > 0 ? ` (and ${more} more YAML error${more === 1 ? '' : 's'} after it, which usually follow from this one)` : '');
    throw new ConfigError(file, [{ path: '', message, ...(pos ? { position: { line: pos.line, column: pos.col } } : {}) }]);
  }
  const written: unknown = doc.toJS() ?? {};
  const credentials = credentialIssues(written, doc, lines);
  if (credentials.length > 0) throw new ConfigError(file, credentials);
  const profile = options.profile ?? DEFAULT_PROFILE;
  const profiled = applyProfile(written, profile, { doc, lines, locationProblem });
  if (profiled.issues.length > 0) throw new ConfigError(file, profiled.issues);
  // Problems with a location a profile set are reported at the profile's line.
  const origin = profiled.origin;
  const parsed = fileSchema.safeParse(profiled.raw);
  if (!parsed.success) {
    const issues: ConfigIssue[] = parsed.error.issues.map((issue) => {
      let message = issue.message;
      let path = issue.path;
      let atKey = false;
      if (issue.code === 'unrecognized_keys') {
        message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
        path = [...issue.path, issue.keys[0]];
        atKey = true;
      }
      if (issue.code === 'invalid_key') {
        message = `invalid name: ${issue.issues.map((i) => i.message).join('; ')}`;
        atKey = true;
      }
      // A top-level key a profile set (warehouse, bigquery) is reported where the profile set it.
      const from = path.length ? origin([String(path[0])]) : [];
      if (from.length > 1) path = [...from, ...path.slice(1)];
      return { path: formatPath(path), message, position: locate(doc, lines, path, { atKey }) };
    });
    throw new ConfigError(file, issues);
  }
  const base = dirname(file);
  // A URI (gs://bucket/prefix, file:///x) stays as written; a path is relative to this file.
  const abs = (p: string) => (URI.test(p) || isAbsolute(p) ? p : resolve(base, p));
  const stateDir = abs(parsed.data.stateDir);
  const pipelines = Object.entries(parsed.data.pipelines).map(([pipelineName, p]) => resolvePipeline(pipelineName, p, abs, stateDir));
  const issues: ConfigIssue[] = [];
  for (const [name, raw] of Object.entries(parsed.data.pipelines)) {
    const locations: [string, string | undefined][] = [
      ['landing', raw.landing],
      ['archive', raw.archive],
      ['quarantine', raw.quarantine],
      ['stage', typeof raw.stage === 'string' ? raw.stage : raw.stage.path],
      ['target', raw.target === undefined ? undefined : typeof raw.target === 'string' ? raw.target : raw.target.path],
    ];
    for (const [key, location] of locations) {
      const problem = location === undefined ? undefined : locationProblem(location);
      const at = origin(['pipelines', name, key]);
      if (problem) issues.push({ path: formatPath(at), message: problem, position: locate(doc, lines, at) });
    }
  }
  for (const [key, location] of [['stateDir', parsed.data.stateDir], ['ingestionLog', parsed.data.ingestionLog]] as const) {
    const problem = location === undefined ? undefined : locationProblem(location);
    if (problem) issues.push({ path: formatPath(origin([key])), message: problem, position: locate(doc, lines, origin([key])) });
  }
  for (const p of pipelines) {
    p.siblings = pipelines.filter((o) => o !== p && o.landing === p.landing).map((o) => o.name);
    const where = (key: string) => ({ path: formatPath(origin(['pipelines', p.name, key])), position: locate(doc, lines, origin(['pipelines', p.name, key])) });
    if (p.siblings.length > 0 && !p.json.path) {
      issues.push({ ...where('landing'), message: `shares its landing folder with ${p.siblings.join(', ')}: pipelines may share a landing folder only to fan out a nested JSON document, each with its own json.path` });
    }
    if (p.target !== undefined && p.target === p.stage) issues.push({ ...where('target'), message: 'is the stage table too: the MERGE would write into its own source; give the target its own path' });
    for (const other of pipelines) {
      if (other === p) continue;
      if (other.stage === p.stage || other.target === p.stage) issues.push({ ...where('stage'), message: `is also a table of pipeline '${other.name}'` });
    }
    for (const [k, dir] of [['archive', p.archive], ['quarantine', p.quarantine]] as const) {
      if (dir === p.landing || dir.startsWith(p.landing + '/')) issues.push({ ...where(k), message: 'must not be inside the landing folder (files there would be picked up again)' });
    }
  }
  const bq = parsed.data.bigquery;
  if (parsed.data.warehouse === 'bigquery' && !bq) issues.push({ path: 'bigquery', message: 'warehouse: bigquery needs a bigquery: block with project, dataset and location', position: locate(doc, lines, ['warehouse']) });
  if (issues.length > 0) throw new ConfigError(file, issues);
  const bigquery = bq ? { project: bq.project, dataset: bq.dataset, location: bq.location, maxBadRecords: bq.maxBadRecords, ...(bq.loadJobFrom !== undefined ? { loadJobFrom: parseBytes(bq.loadJobFrom) } : {}) } : undefined;
  const sources = Object.entries(parsed.data.sources).map(([n, s]) => resolveSource(n, s, abs, stateDir, parseDuration));
  return { file, profile, warehouse: parsed.data.warehouse, ...(bigquery ? { bigquery } : {}), stateDir, ingestionLog: parsed.data.ingestionLog ? abs(parsed.data.ingestionLog) : within(stateDir, 'ingestion_log'), pipelines, sources };
}

function resolvePipeline(pipelineName: string, p: RawPipeline, abs: (p: string) => string, stateDir: string): PipelineConfig {
  return {
    name: pipelineName,
    landing: abs(p.landing),
    pattern: p.pattern,
    format: p.format,
    arrival: {
      stableMs: parseDuration(p.arrival.stable),
      requireCompleteRecord: p.arrival.requireCompleteRecord,
      incompleteTimeoutMs: parseDuration(p.arrival.incompleteTimeout),
      marker: p.arrival.marker, ignore: p.arrival.ignore },
    csv: p.csv,
    json: p.json,
    stage: abs(typeof p.stage === 'string' ? p.stage : p.stage.path),
    stageRetain: stageRetention(typeof p.stage === 'string' ? undefined : p.stage.retain, p.target !== undefined),
    stageProperties: typeof p.stage === 'string' ? {} : stringValues(p.stage.properties),
    ...(p.target ? { target: abs(typeof p.target === 'string' ? p.target : p.target.path) } : {}),
    targetProperties: p.target && typeof p.target !== 'string' ? stringValues(p.target.properties) : {},
    key: p.key === undefined ? [] : Array.isArray(p.key) ? p.key : [p.key],
    ...(p.orderBy ? { orderBy: p.orderBy } : {}),
    partitionBy: Array.isArray(p.partitionBy) ? p.partitionBy : [p.partitionBy],
    transforms: p.transforms,
    schemaDrift: p.schemaDrift,
    badRecords: p.badRecords,
    badRecordsLimit: typeof p.badRecordsLimit === 'number' ? p.badRecordsLimit : Number(p.badRecordsLimit.replace('%', '')) / 100,
    duplicates: p.duplicates,
    ...(p.deletes ? { deletes: p.deletes } : {}),
    archive: abs(p.archive),
    quarantine: abs(p.quarantine),
    batch: { maxFiles: p.batch.maxFiles, maxBytes: parseBytes(p.batch.maxBytes) },
    stateDir: within(stateDir, pipelineName),
    siblings: [],
  };
}

export function parseBytes(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$/i.exec(value);
  if (!m) throw new Error(`not a size: ${value}`);
  const unit = m[2].toLowerCase();
  const base = m[3] ? 1024 : 1000;
  const power = unit ? 'kmgt'.indexOf(unit) + 1 : 0;
  return Math.round(Number(m[1]) * base ** power);
}

/** `name` inside a folder given as a path or a URI. */
function within(location: string, name: string): string {
  return URI.test(location) ? `${location.replace(/\/+$/, '')}/${name}` : resolve(location, name);
}

const URI = /^[a-z][a-z0-9+.-]+:\/\//i;
const SCHEMES = ['file', 'gs'];

/**
 * Why a location cannot be used, or undefined: an unknown scheme or a malformed URI is refused
 * here, rather than being taken as a local folder named `gs:` that holds no files.
 */
export function locationProblem(location: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(location)?.[1];
  if (scheme === undefined) return undefined; // a path (one-letter "schemes" are Windows drives)
  if (!SCHEMES.includes(scheme.toLowerCase())) return `unknown storage scheme '${scheme}:' in '${location}'; use a local path, file:// or gs://bucket/prefix`;
  if (!URI.test(location)) return `'${location}' is not a valid URI; write ${scheme}://${location.slice(scheme.length + 1).replace(/^\/*/, '')}`;
  if (scheme.toLowerCase() === 'gs' && !/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/|$)/i.test(location)) return `'${location}' does not name a bucket; write gs://<bucket>/<prefix>`;
  return undefined;
}

/** '500ms', '2s', '10m', '1h', '7d' or a number of ms, in ms. */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2].toLowerCase() as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * A pipeline with a target keeps merged batches in its stage for 7 days by default (enough to look
 * into a recent batch, or to re-merge it); a stage-only pipeline's stage is its destination.
 */
export const DEFAULT_STAGE_RETAIN = '7d';
function stageRetention(value: number | string | undefined, hasTarget: boolean): PipelineConfig['stageRetain'] {
  if (value === undefined) return hasTarget ? parseDuration(DEFAULT_STAGE_RETAIN) : 'forever';
  if (value === 'forever' || value === 'truncate-after-merge') return value;
  return parseDuration(value);
}

function stringValues(record: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, String(v)]));
}

/** The schema of a lakelet.yml, for tools that walk its keys (`lakelet init`'s test checks the starter covers every key). */
export { fileSchema as configFileSchema };
