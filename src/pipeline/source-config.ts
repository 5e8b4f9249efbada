import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseSourceUrl, type SourceUrl } from '../adapters/sources/source-url.ts';
import { InputError } from '../errors/lakelet-error.ts';

/**
 * `sources:` in lakelet.yml: databases synced incrementally into the warehouse (`lakelet sync`,
 * seed 003's MySQL → BigQuery job). The password never sits in the YAML: it comes from an
 * environment variable or a file, read when the sync connects.
 */
const duration = z.union([z.number().int().nonnegative(), z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/i, "a duration like 30s, '5m', '1h'")]);

/**
 * Key-diff deletes: every primary key of the source compared with the target's, and target rows
 * whose key vanished are deleted (with tombstones, like soft deletes). `recent` limits the compare
 * to rows whose watermark is within that range of the newest one (cheaper on a big table; an older
 * row deleted in the source then stays until a run without `recent`, or a --full sync).
 */
const keyDiff = z.union([z.boolean(), z.object({ recent: duration.optional() }).strict()]);

const tableOptions = z
  .object({
    /** The watermark column of this table (default: the first of the source's `watermark` names it has). */
    watermark: z.string().min(1).optional(),
    /** A soft-delete column: a row whose value is set (not NULL, or true for a boolean) is deleted from the target. */
    softDelete: z.string().min(1).optional(),
    /** The primary key, where the source declares none (BigQuery's keys are optional and unenforced). */
    key: z.array(z.string().min(1)).min(1).optional(),
    /** Track deletes by a key diff (see keyDiff above); false turns the source's setting off for this table. */
    keyDiff: keyDiff.optional(),
  })
  .strict();

export const sourceSchema = z
  .object({
    url: z.string().min(1),
    passwordEnv: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    tls: z.object({ mode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']), ca: z.string().min(1).optional() }).strict().optional(),
    connectTimeout: duration.default('10s'),
    /** Tables to sync (`table` or `schema.table`); without it every table of `discover` is. */
    tables: z.array(z.string().min(1)).min(1).optional(),
    discover: z
      .object({
        schemas: z.array(z.string().min(1)).optional(),
        include: z.array(z.string().min(1)).default(['*']),
        exclude: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .optional(),
    /** Watermark column names to look for, in order of preference. */
    watermark: z.array(z.string().min(1)).min(1).default(['updated_at', 'modified_at', 'last_modified', 'created_at']),
    /** A table with a primary key but no watermark column: reported and skipped, or re-read in full every run. */
    withoutWatermark: z.enum(['skip', 'full']).default('skip'),
    /** Rows whose watermark is this much older than the last one are read again (late commits). */
    lookback: duration.default('5m'),
    pageSize: z.number().int().positive().default(50_000),
    /** Source rows per Parquet file handed to the stage. */
    rowsPerFile: z.number().int().positive().default(250_000),
    schemaDrift: z.enum(['evolve', 'fail', 'ignore']).default('evolve'),
    softDelete: z.string().min(1).optional(),
    keyDiff: keyDiff.optional(),
    tableOptions: z.record(z.string().min(1), tableOptions).default({}),
    /** Folder of the target tables: one Delta table per source table (`<target>/<table>`). */
    target: z.string().min(1),
    /** Delta table properties of every target table (e.g. delta.enableDeletionVectors: true, so a MERGE of a few changed rows rewrites no file). */
    properties: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Seed 003's metadata table, one row per synced table (default: <target>/_sync_metadata), readable with `lakelet read`. */
    metadata: z.string().min(1).optional(),
    /** Folder of the stage tables (default: <stateDir>/sync/<source>/stage). */
    stage: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.passwordEnv && s.passwordFile) ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'give the password one way: passwordEnv or passwordFile' });
    if (s.tables && s.discover) ctx.addIssue({ code: 'custom', path: ['discover'], message: 'list tables or discover them, not both' });
    try {
      parseSourceUrl('-', s.url);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: (err as Error).message.replace(/^source '-': /, '') });
    }
  });

export const sourcesSchema = z.record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, _ . - (no spaces or slashes)'), sourceSchema);

type RawSource = z.infer<typeof sourceSchema>;

/** One source with its paths resolved and durations in ms. */
/** The default folder of a source's metadata table, inside its target folder (never a table's slug: see sync-status.ts). */
export const SYNC_METADATA_FOLDER = '_sync_metadata';

/** Key-diff deletes, resolved: `recentMs` scopes the compare to a recent watermark range. */
export interface KeyDiff {
  recentMs?: number;
}

export interface SourceTableOptions {
  watermark?: string;
  key?: string[];
  softDelete?: string;
  /** false: no key diff for this table even if the source asks for one. */
  keyDiff?: KeyDiff | false;
}

export interface SourceConfig extends Pick<RawSource, 'tables' | 'watermark' | 'withoutWatermark' | 'pageSize' | 'rowsPerFile' | 'schemaDrift' | 'softDelete'> {
  tableOptions: Record<string, SourceTableOptions>;
  keyDiff?: KeyDiff;
  name: string;
  url: SourceUrl;
  passwordEnv?: string;
  passwordFile?: string;
  tls?: { mode: 'require' | 'verify-ca' | 'verify-full'; caFile?: string };
  connectTimeoutMs: number;
  discover: { schemas?: string[]; include: string[]; exclude: string[] };
  lookbackMs: number;
  target: string;
  /** Delta table properties of the targets (values as text). */
  targetProperties: Record<string, string>;
  /** The sync metadata table (a copy of the committed states; see pipeline/sync/sync-metadata.ts). */
  metadata: string;
  stage: string;
  /** Where the sync keeps its per-table bookkeeping (pending batch, last run). */
  stateDir: string;
}

export function resolveSource(name: string, s: RawSource, abs: (p: string) => string, stateDir: string, parseDuration: (v: number | string) => number): SourceConfig {
  return {
    name,
    url: parseSourceUrl(name, s.url),
    ...(s.passwordEnv ? { passwordEnv: s.passwordEnv } : {}),
    ...(s.passwordFile ? { passwordFile: abs(s.passwordFile) } : {}),
    ...(s.tls && s.tls.mode !== 'disable' ? { tls: { mode: s.tls.mode, ...(s.tls.ca ? { caFile: abs(s.tls.ca) } : {}) } } : {}),
    connectTimeoutMs: parseDuration(s.connectTimeout),
    ...(s.tables ? { tables: s.tables } : {}),
    discover: { ...(s.discover?.schemas ? { schemas: s.discover.schemas } : {}), include: s.discover?.include ?? ['*'], exclude: s.discover?.exclude ?? [] },
    watermark: s.watermark,
    withoutWatermark: s.withoutWatermark,
    lookbackMs: parseDuration(s.lookback),
    pageSize: s.pageSize,
    rowsPerFile: s.rowsPerFile,
    schemaDrift: s.schemaDrift,
    ...(s.softDelete ? { softDelete: s.softDelete } : {}),
    ...(s.keyDiff ? { keyDiff: resolveKeyDiff(s.keyDiff, parseDuration) } : {}),
    tableOptions: Object.fromEntries(
      Object.entries(s.tableOptions).map(([t, o]) => [t, { ...(o.watermark ? { watermark: o.watermark } : {}), ...(o.key ? { key: o.key } : {}), ...(o.softDelete ? { softDelete: o.softDelete } : {}), ...(o.keyDiff !== undefined ? { keyDiff: o.keyDiff === false ? (false as const) : resolveKeyDiff(o.keyDiff, parseDuration) } : {}) }]),
    ),
    target: abs(s.target),
    targetProperties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, String(v)])),
    metadata: s.metadata ? abs(s.metadata) : `${abs(s.target)}/${SYNC_METADATA_FOLDER}`,
    stage: s.stage ? abs(s.stage) : `${stateDir}/sync/${name}/stage`,
    stateDir: `${stateDir}/sync/${name}`,
  };
}

function resolveKeyDiff(k: true | { recent?: number | string }, parseDuration: (v: number | string) => number): KeyDiff {
  return k === true || k.recent === undefined ? {} : { recentMs: parseDuration(k.recent) };
}

/** The source's password: from its environment variable or file (a trailing newline is not part of it). */
export function sourcePassword(s: SourceConfig): string | undefined {
  if (s.passwordEnv) {
    const v = process.env[s.passwordEnv];
    if (v === undefined) throw new InputError(`source '${s.name}': the environment variable ${s.passwordEnv} (passwordEnv) is not set; export it with the database password`);
    return v;
  }
  if (s.passwordFile) {
    try {
      return readFileSync(s.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new InputError(`source '${s.name}': cannot read the password file ${s.passwordFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  return undefined;
}
