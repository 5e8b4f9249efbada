import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { formatPath, locate } from './yaml-locate.ts';

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

const name = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, _ . - (no spaces or slashes)');
const column = z.string().min(1, 'a column name cannot be empty');
const byteSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*([kmgt]i?b?|b)?\s*$/i, "a size like 1048576, '64MB' or '1GiB'"),
]);

const transformSchema = z
  .object({
    epoch: z.enum(['seconds', 'millis', 'micros']).optional(),
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
    stage: z.string().min(1),
    target: z.string().min(1).optional(),
    key: z.union([column, z.array(column).min(1)]).optional(),
    orderBy: column.optional(),
    partitionBy: z.union([column, z.array(column)]).default([]),
    transforms: z.record(column, transformSchema).default({}),
    schemaDrift: z.enum(['evolve', 'rescue', 'fail', 'ignore']).default('evolve'),
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
    if (p.json.path && p.format !== 'json' && p.format !== 'ndjson') ctx.addIssue({ code: 'custom', path: ['json', 'path'], message: 'json.path applies to format json or ndjson only' });
  });

const fileSchema = z
  .object({
    stateDir: z.string().min(1).default('.lakelet'),
    ingestionLog: z.string().min(1).optional(),
    pipelines: z.record(name, pipelineSchema).refine((r) => Object.keys(r).length > 0, { message: 'define at least one pipeline' }),
  })
  .strict();

type RawPipeline = z.infer<typeof pipelineSchema>;

export interface TransformSpec {
  epoch?: 'seconds' | 'millis' | 'micros';
  rename?: string;
  cast?: string;
}

export interface CsvDialect {
  delimiter?: string;
  header?: boolean;
  quote?: string;
  escape?: string;
  nullString?: string;
  dateFormat?: string;
  timestampFormat?: string;
}

/** One pipeline, with every path absolute. */
export interface PipelineConfig {
  name: string;
  landing: string;
  pattern: string;
  format: 'csv' | 'json' | 'ndjson' | 'parquet';
  csv: CsvDialect;
  json: { repair: boolean; path?: string };
  stage: string;
  target?: string;
  key: string[];
  orderBy?: string;
  partitionBy: string[];
  transforms: Record<string, TransformSpec>;
  schemaDrift: 'evolve' | 'rescue' | 'fail' | 'ignore';
  deletes?: { column: string; values: (string | number | boolean)[] };
  archive: string;
  quarantine: string;
  batch: { maxFiles: number; maxBytes: number };
  /** Where this pipeline's batch manifests and lock live. */
  stateDir: string;
  /** Other pipelines reading the same landing folder: a file leaves it only when all have taken it. */
  siblings: string[];
}

export interface LakeletConfig {
  file: string;
  stateDir: string;
  ingestionLog: string;
  pipelines: PipelineConfig[];
}

export function loadConfig(file: string): LakeletConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass -c <lakelet.yml>` }]);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, file: string): LakeletConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { path: '', message: e.message.split('\n')[0], ...(pos ? { position: { line: pos.line, column: pos.col } } : {}) };
      }),
    );
  }
  const parsed = fileSchema.safeParse(doc.toJS() ?? {});
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
      return { path: formatPath(path), message, position: locate(doc, lines, path, { atKey }) };
    });
    throw new ConfigError(file, issues);
  }
  const base = dirname(file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const stateDir = abs(parsed.data.stateDir);
  const pipelines = Object.entries(parsed.data.pipelines).map(([pipelineName, p]) => resolvePipeline(pipelineName, p, abs, stateDir));
  const issues: ConfigIssue[] = [];
  for (const p of pipelines) {
    p.siblings = pipelines.filter((o) => o !== p && o.landing === p.landing).map((o) => o.name);
    const where = (key: string) => ({ path: `pipelines.${p.name}.${key}`, position: locate(doc, lines, ['pipelines', p.name, key]) });
    if (p.siblings.length > 0 && !p.json.path) {
      issues.push({ ...where('landing'), message: `shares its landing folder with ${p.siblings.join(', ')}: pipelines may share a landing folder only to fan out a nested JSON document, each with its own json.path` });
    }
    for (const other of pipelines) {
      if (other === p) continue;
      if (other.stage === p.stage || other.target === p.stage) issues.push({ ...where('stage'), message: `is also a table of pipeline '${other.name}'` });
    }
    for (const [k, dir] of [['archive', p.archive], ['quarantine', p.quarantine]] as const) {
      if (dir === p.landing || dir.startsWith(p.landing + '/')) issues.push({ ...where(k), message: 'must not be inside the landing folder (files there would be picked up again)' });
    }
  }
  if (issues.length > 0) throw new ConfigError(file, issues);
  return { file, stateDir, ingestionLog: parsed.data.ingestionLog ? abs(parsed.data.ingestionLog) : resolve(stateDir, 'ingestion_log'), pipelines };
}

function resolvePipeline(pipelineName: string, p: RawPipeline, abs: (p: string) => string, stateDir: string): PipelineConfig {
  return {
    name: pipelineName,
    landing: abs(p.landing),
    pattern: p.pattern,
    format: p.format,
    csv: p.csv,
    json: p.json,
    stage: abs(p.stage),
    ...(p.target ? { target: abs(p.target) } : {}),
    key: p.key === undefined ? [] : Array.isArray(p.key) ? p.key : [p.key],
    ...(p.orderBy ? { orderBy: p.orderBy } : {}),
    partitionBy: Array.isArray(p.partitionBy) ? p.partitionBy : [p.partitionBy],
    transforms: p.transforms,
    schemaDrift: p.schemaDrift,
    ...(p.deletes ? { deletes: p.deletes } : {}),
    archive: abs(p.archive),
    quarantine: abs(p.quarantine),
    batch: { maxFiles: p.batch.maxFiles, maxBytes: parseBytes(p.batch.maxBytes) },
    stateDir: resolve(stateDir, pipelineName),
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
