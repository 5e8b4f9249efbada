import type { AddFile, Metadata, Protocol } from '../delta/actions.ts';
import type { TableHandle } from '../table-handle.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { parseCommit } from '../delta/action-codec.ts';
import { deltaTypeToDuckDb } from '../delta/duckdb-types.ts';
import { fileKey } from '../delta/file-key.ts';
import { commitTimestamp, listLog, loadSnapshot, Snapshot } from '../delta/snapshot.ts';
import { scanSnapshot, withMissingFileCheck, type Scan } from '../delta/scan.ts';
import { CHANGE_TYPE_COLUMN, isChangeDataFeedEnabled, type ChangeType } from './cdf.ts';
import { ChangeDataFeedError, InputError, NotATableError, VersionNotFoundError } from '../errors.ts';

export interface ChangesOptions {
  /** First version whose changes are returned (inclusive). */
  fromVersion: number;
  /** Last version (inclusive); default the latest. */
  toVersion?: number;
}

export interface ChangeMetrics {
  fromVersion: number;
  toVersion: number;
  /** Commits in the range that changed data. */
  numCommits: number;
  numChangeFiles: number;
  numAddFiles: number;
  numRemoveFiles: number;
}

/** A change feed as a DuckDB relation: the table's columns, then `_change_type`, `_commit_version`, `_commit_timestamp`. */
export interface ChangeScan {
  readonly sql: string;
  readonly metrics: ChangeMetrics;
  /** The snapshot at toVersion, and every file the feed reads (for withMissingFileCheck). */
  readonly snapshot: Snapshot;
  readonly files: AddFile[];
  release(): Promise<void>;
}

/** One version's changes: its cdc files, or its data-changing adds (inserts) or removes (deletes). */
interface ChangePart {
  version: number;
  timestamp: number;
  kind: 'cdc' | ChangeType;
  files: AddFile[];
}

const EMPTY_SCHEMA = '{"type":"struct","fields":[]}';

/**
 * Reads the change data feed between two versions (PROTOCOL.md "Reader Requirements for
 * AddCDCFile"): a version with `cdc` actions contributes exactly the rows of its change data files;
 * a version without them contributes the rows of its `add` actions as 'insert' and of its `remove`
 * actions as 'delete' (only those with dataChange=true, so OPTIMIZE contributes nothing). Each row
 * also gets `_commit_version` (BIGINT) and `_commit_timestamp` (TIMESTAMPTZ: the in-commit timestamp,
 * else the commit file's time). Rows come out in version order, each version's in file order.
 *
 * Every version in the range must have `delta.enableChangeDataFeed=true` in its metadata, otherwise
 * ChangeDataFeedError: its changes were never recorded. Columns are those of the schema at
 * `toVersion`; files written before a column was added read it as NULL.
 */
export class ChangesBuilder {
  private _where: string | undefined;

  constructor(
    private readonly table: TableHandle,
    private readonly options: ChangesOptions,
  ) {}

  /** Keeps change rows matching a SQL predicate (may use `_change_type`, `_commit_version`, …). */
  where(predicate: string): this {
    this._where = predicate;
    return this;
  }

  async scan(): Promise<ChangeScan> {
    const ctx = this.table.ctx;
    const { fromVersion } = this.options;
    if (!Number.isSafeInteger(fromVersion) || fromVersion < 0) throw new InputError(`${ctx.uri}: fromVersion must be a version number (0 or more), got ${fromVersion}.`);
    const listing = await listLog(ctx);
    const commits = new Map(listing.filter((f) => f.kind === 'commit').map((f) => [f.version, f]));
    if (commits.size === 0 && !listing.some((f) => f.kind === 'checkpoint')) throw new NotATableError(ctx.uri);
    const latest = Math.max(...commits.keys());
    // A start past the latest version (with no end given) is named as such, not as an end below it.
    if (this.options.toVersion === undefined && fromVersion > latest) {
      throw new VersionNotFoundError(ctx.uri, `the latest version is ${latest}; changes from version ${fromVersion} were asked for (no commit has it yet).`);
    }
    const toVersion = this.options.toVersion ?? latest;
    if (!Number.isSafeInteger(toVersion) || toVersion < fromVersion) {
      throw new InputError(`${ctx.uri}: toVersion (${toVersion}) must be a version number not below fromVersion (${fromVersion}).`);
    }
    if (toVersion > latest || fromVersion > latest) {
      throw new VersionNotFoundError(ctx.uri, `the latest version is ${latest}; changes for versions ${fromVersion}..${toVersion} were asked for.`);
    }
    for (let v = fromVersion; v <= toVersion; v++) {
      if (!commits.has(v)) {
        throw new VersionNotFoundError(ctx.uri, `commit ${v} is no longer in the log (cleaned up), so its changes cannot be read; start from a later version.`);
      }
    }

    // Replay from the version before the range, so removes can be resolved to their add actions
    // and each version's metadata is known.
    let state = fromVersion > 0 ? await loadSnapshot(ctx, { version: fromVersion - 1 }, listing) : emptySnapshot(this.table);
    const parts: ChangePart[] = [];
    for (let v = fromVersion; v <= toVersion; v++) {
      const logFile = commits.get(v)!;
      const actions = parseCommit(await ctx.log.readCommit(v), { tablePath: ctx.uri, version: v, file: logFile.key });
      const timestamp = commitTimestamp(actions, logFile);
      const before = state;
      state = before.withCommit(actions, v, timestamp);
      if (!isChangeDataFeedEnabled(state)) {
        throw new ChangeDataFeedError(
          ctx.uri,
          v,
          `change data was not recorded for version ${v} (delta.enableChangeDataFeed is not true there), so changes for versions ` +
            `${fromVersion}..${toVersion} cannot be read. Read from a version after the feed was enabled.`,
        );
      }
      const cdc = actions.filter((a) => a.cdc).map((a) => a.cdc!);
      if (cdc.length > 0) {
        parts.push({ version: v, timestamp, kind: 'cdc', files: cdc.map((c) => ({ path: c.path, partitionValues: c.partitionValues ?? {}, size: c.size, modificationTime: 0, dataChange: false })) });
        continue;
      }
      const inserted = actions.filter((a) => a.add && a.add.dataChange !== false).map((a) => a.add!);
      if (inserted.length > 0) parts.push({ version: v, timestamp, kind: 'insert', files: inserted });
      const removes = actions.filter((a) => a.remove && a.remove.dataChange !== false).map((a) => a.remove!);
      if (removes.length > 0) {
        const previous = new Map(before.files.map((f) => [fileKey(f.path, f.deletionVector), f]));
        const deleted = removes.map(
          (r) =>
            previous.get(fileKey(r.path, r.deletionVector)) ?? {
              path: r.path,
              partitionValues: r.partitionValues ?? {},
              size: r.size ?? 0,
              modificationTime: 0,
              dataChange: true,
              ...(r.deletionVector ? { deletionVector: r.deletionVector } : {}),
            },
        );
        parts.push({ version: v, timestamp, kind: 'delete', files: deleted });
      }
    }

    // The end state's schema for every part; change data files also carry `_change_type`.
    const end = state;
    const fields = end.schema.fields;
    const cdcSnapshot = withExtraColumn(end);
    const columns = fields.map((f) => sqlIdent(f.name)).join(', ');
    const scans: Scan[] = [];
    const selects: string[] = [];
    const release = async () => {
      for (const s of scans) await s.release();
    };
    const allFiles: AddFile[] = [];
    try {
      for (const part of parts) {
        const scan = await scanSnapshot(part.kind === 'cdc' ? cdcSnapshot : end, { files: part.files });
        scans.push(scan);
        allFiles.push(...part.files);
        const changeType = part.kind === 'cdc' ? sqlIdent(CHANGE_TYPE_COLUMN) : `${sqlString(part.kind)}`;
        selects.push(
          `SELECT ${columns}${columns ? ', ' : ''}CAST(${changeType} AS VARCHAR) AS ${CHANGE_TYPE_COLUMN}, ` +
            `CAST(${part.version} AS BIGINT) AS _commit_version, CAST(epoch_ms(CAST(${Math.trunc(part.timestamp)} AS BIGINT)) AS TIMESTAMPTZ) AS _commit_timestamp ` +
            `FROM (${scan.sql})`,
        );
      }
    } catch (err) {
      await release();
      throw err;
    }
    const empty =
      `SELECT ${fields.map((f) => `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}, `).join('')}` +
      `NULL::VARCHAR AS ${CHANGE_TYPE_COLUMN}, NULL::BIGINT AS _commit_version, NULL::TIMESTAMPTZ AS _commit_timestamp WHERE false`;
    let sql = selects.length > 0 ? selects.map((s) => `(${s})`).join(' UNION ALL ') : empty;
    if (this._where?.trim()) sql = `SELECT * FROM (${sql}) WHERE ${this._where}`;
    const metrics: ChangeMetrics = {
      fromVersion,
      toVersion,
      numCommits: new Set(parts.map((p) => p.version)).size,
      numChangeFiles: parts.filter((p) => p.kind === 'cdc').reduce((s, p) => s + p.files.length, 0),
      numAddFiles: parts.filter((p) => p.kind === 'insert').reduce((s, p) => s + p.files.length, 0),
      numRemoveFiles: parts.filter((p) => p.kind === 'delete').reduce((s, p) => s + p.files.length, 0),
    };
    return { sql, metrics, snapshot: end, files: allFiles, release };
  }

  /** Reads the changes into memory (JSON-safe values), in commit order. */
  async read(options: { limit?: number } = {}): Promise<Record<string, unknown>[]> {
    const scan = await this.scan();
    try {
      const limit = options.limit !== undefined ? ` LIMIT ${Math.floor(options.limit)}` : '';
      // A vacuumed file becomes a MissingFileError naming it.
      return await withMissingFileCheck(scan.snapshot, scan.files, () =>
        this.table.ctx.compute.query(`SELECT * FROM (${scan.sql}) ORDER BY _commit_version, CASE ${CHANGE_TYPE_COLUMN} WHEN 'delete' THEN 0 WHEN 'update_preimage' THEN 1 WHEN 'update_postimage' THEN 2 ELSE 3 END${limit}`),
      );
    } finally {
      await scan.release();
    }
  }

  /** Same as read(). */
  execute(): Promise<Record<string, unknown>[]> {
    return this.read();
  }
}

/** The state before version 0. */
function emptySnapshot(table: TableHandle): Snapshot {
  const protocol: Protocol = { minReaderVersion: 1, minWriterVersion: 2 };
  const metadata: Metadata = { id: '', format: { provider: 'parquet', options: {} }, schemaString: EMPTY_SCHEMA, partitionColumns: [], configuration: {} };
  return new Snapshot(table.ctx, -1, protocol, metadata, new Map(), new Map(), new Map(), 0);
}

/** The snapshot with `_change_type` appended to its schema, for scanning change data files. */
function withExtraColumn(snapshot: Snapshot): Snapshot {
  const schema = { type: 'struct', fields: [...snapshot.schema.fields, { name: CHANGE_TYPE_COLUMN, type: 'string', nullable: true, metadata: {} }] };
  const metadata: Metadata = { ...snapshot.metadata, schemaString: JSON.stringify(schema) };
  return new Snapshot(snapshot.table, snapshot.version, snapshot.protocol, metadata, new Map(), snapshot.txns, snapshot.domains, snapshot.timestamp);
}
