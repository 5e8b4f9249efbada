import type { ObjectStore } from '../adapters/storage/object-store.ts';
import type { Compute } from '../adapters/compute/compute.ts';
import { openCompute } from '../adapters/compute/open-compute.ts';
import { LazyCompute } from '../adapters/compute/lazy-compute.ts';
import { sqlIdent } from '../adapters/compute/sql.ts';
import { openStore } from '../adapters/storage/open-store.ts';
import { randomIds, systemClock, type Clock, type IdSource } from '../adapters/clock.ts';
import { LogStore } from './delta/log-store.ts';
import type { TableContext } from './delta/table-context.ts';
import type { TableHandle, VersionSelector } from './table-handle.ts';
import { advanceSnapshot, listLog, loadLatestSnapshot, loadSnapshot, loadSnapshotAt, type Snapshot } from './delta/snapshot.ts';
import { readHistory, type HistoryEntry } from './delta/history.ts';
import { versionAtTimestamp } from './delta/time-travel.ts';
import { scanSnapshot, withMissingFileCheck, type Scan, type ScanOptions } from './delta/scan.ts';
import { WriteBuilder } from './ops/write.ts';
import { MergeBuilder, type MergeOptions } from './ops/merge.ts';
import type { Source } from './ops/source.ts';
import { DeleteBuilder } from './ops/delete.ts';
import { UpdateBuilder } from './ops/update.ts';
import { OptimizeBuilder } from './ops/optimize.ts';
import { VacuumBuilder } from './ops/vacuum.ts';
import { RestoreBuilder } from './ops/restore.ts';
import { ChangesBuilder, type ChangesOptions } from './ops/changes.ts';
import { SetPropertiesBuilder } from './ops/set-properties.ts';
import { InputError, NotATableError } from './errors.ts';

export interface TableOptions {
  compute?: Compute;
  clock?: Clock;
  ids?: IdSource;
  store?: ObjectStore;
  /** Where warnings about an already committed operation go (see TableContext.warn); default: a Node process warning. */
  onWarning?: (message: string) => void;
}

export type { VersionSelector } from './table-handle.ts';

/**
 * A Delta table at a location. Cheap to construct (no I/O); every read resolves a snapshot, every
 * operation is a builder ending in `execute()`.
 */
export class DeltaTable implements TableHandle {
  readonly ctx: TableContext;
  private ownsCompute: boolean;
  private cached: Snapshot | undefined;
  /** The commit file this handle last wrote (see latest()). */
  private ownCommit: { version: number; size: number } | undefined;

  private constructor(ctx: TableContext, ownsCompute: boolean) {
    this.ctx = ctx;
    this.ownsCompute = ownsCompute;
  }

  static async forPath(location: string, options: TableOptions = {}): Promise<DeltaTable> {
    const store = options.store ?? openStore(location);
    // DuckDB starts on the first SQL, not here: opening a snapshot does not need it.
    const compute = options.compute ?? new LazyCompute(() => openCompute());
    let table: DeltaTable | undefined;
    const ctx: TableContext = {
      uri: store.uri,
      store,
      log: new LogStore(store),
      compute,
      clock: options.clock ?? systemClock,
      ids: options.ids ?? randomIds,
      committed: (snapshot, commitBytes) => table?.rememberCommit(snapshot as Snapshot, commitBytes),
      ...(options.onWarning ? { warn: options.onWarning } : {}),
    };
    table = new DeltaTable(ctx, !options.compute);
    return table;
  }

  /** Starts the table's SQL engine in the background when the handle opened it lazily (see LazyCompute.start). */
  startCompute(): void {
    if (this.ctx.compute instanceof LazyCompute) this.ctx.compute.start();
  }

  get uri(): string {
    return this.ctx.uri;
  }

  async snapshot(selector: VersionSelector = {}): Promise<Snapshot> {
    if (selector.timestamp === undefined) {
      const cached = this.cached;
      if (selector.version === undefined) return this.latest();
      if (cached && selector.version === cached.version) return cached;
      if (cached && selector.version > cached.version) {
        const latest = await this.latest();
        if (latest.version === selector.version) return latest;
      }
    }
    // Time travel to a version: listed around that version only, not from 0.
    if (selector.timestamp === undefined && selector.version !== undefined) return loadSnapshotAt(this.ctx, selector.version);
    const listing = await listLog(this.ctx);
    let version = selector.version;
    if (selector.timestamp !== undefined) {
      if (version !== undefined) throw new InputError('give either a version or a timestamp, not both.');
      const ts = toMillis(selector.timestamp);
      const latest = await loadSnapshot(this.ctx, {}, listing);
      const ictVersion = latest.configuration['delta.enableInCommitTimestamps'] === 'true'
        ? Number(latest.configuration['delta.inCommitTimestampEnablementVersion'] ?? 0)
        : undefined;
      version = await versionAtTimestamp(this.ctx, listing, ts, ictVersion !== undefined ? { enablementVersion: ictVersion } : undefined);
      if (version === latest.version) return latest;
    }
    return loadSnapshot(this.ctx, { version }, listing);
  }

  /**
   * The latest snapshot. The handle keeps the last one it saw and brings it up to date by listing
   * the log from that version on and applying only the newer commits, so a table opened once in a
   * run is not re-listed and re-replayed from its checkpoint for every question.
   */
  async latest(): Promise<Snapshot> {
    const cached = this.cached;
    if (cached) {
      const listed = await this.ctx.log.listFrom(cached.version);
      const newer = listed.filter((f) => f.version > cached.version);
      const own = listed.find((f) => f.kind === 'commit' && f.version === cached.version);
      // A commit this handle wrote stands for itself while its file is the one written (same size);
      // one changed since is read again like any other (it may be damaged).
      const intact = this.ownCommit?.version !== cached.version || own?.size === this.ownCommit.size;
      const stillThere = intact && (own !== undefined || newer.some((f) => f.kind === 'commit'));
      const advanced = stillThere ? await advanceSnapshot(cached, newer) : undefined;
      if (advanced) return this.remember(advanced);
      this.cached = undefined;
      this.ownCommit = undefined;
    }
    return this.remember(await loadLatestSnapshot(this.ctx));
  }

  /** Keeps the snapshot a commit of this handle's produced, with the size of the commit file it wrote. */
  rememberCommit(snapshot: Snapshot, commitBytes: number): void {
    if (this.cached && snapshot.version < this.cached.version) return;
    this.cached = snapshot;
    this.ownCommit = { version: snapshot.version, size: commitBytes };
  }

  /** Keeps a snapshot as the handle's latest (operations hand theirs in after a commit). */
  remember(snapshot: Snapshot): Snapshot {
    if (!this.cached || snapshot.version >= this.cached.version) this.cached = snapshot;
    return snapshot;
  }

  /** The latest snapshot, or undefined when there is no table here yet. */
  async tryLatest(): Promise<Snapshot | undefined> {
    try {
      return await this.snapshot();
    } catch (err) {
      if (err instanceof NotATableError) return undefined;
      throw err;
    }
  }

  async exists(): Promise<boolean> {
    return (await this.tryLatest()) !== undefined;
  }

  async history(limit?: number): Promise<HistoryEntry[]> {
    const listing = await listLog(this.ctx);
    if (!listing.some((f) => f.kind === 'commit' || f.kind === 'checkpoint')) throw new NotATableError(this.ctx.uri);
    return readHistory(this.ctx, listing, limit);
  }

  /** A scan as a DuckDB relation; call `release()` when done with its SQL. */
  async scan(options: ScanOptions & VersionSelector = {}): Promise<Scan & { snapshot: Snapshot }> {
    const snapshot = await this.snapshot(options);
    const scan = await scanSnapshot(snapshot, options);
    return Object.assign(scan, { snapshot });
  }

  /** Reads rows into memory (JSON-safe values). For large tables use `scan()` and stream. */
  async read(options: ScanOptions & VersionSelector & { limit?: number; orderBy?: string } = {}): Promise<Record<string, unknown>[]> {
    const scan = await this.scan(options);
    try {
      const order = options.orderBy ? ` ORDER BY ${options.orderBy}` : '';
      const limit = options.limit !== undefined ? ` LIMIT ${Math.floor(options.limit)}` : '';
      // Binary values as base64: DuckDB's text form of a BLOB does not escape '\\' and is ambiguous.
      const wanted = new Set((options.columns ?? scan.snapshot.schema.fields.map((f) => f.name)).map((c) => c.toLowerCase()));
      const binary = scan.snapshot.schema.fields.filter((f) => f.type === 'binary' && wanted.has(f.name.toLowerCase()));
      const replace = binary.length ? ` REPLACE (${binary.map((f) => `to_base64(${sqlIdent(f.name)}) AS ${sqlIdent(f.name)}`).join(', ')})` : '';
      return await withMissingFileCheck(scan.snapshot, scan.files, () => this.ctx.compute.query(`SELECT *${replace} FROM (${scan.sql})${order}${limit}`));
    } finally {
      await scan.release();
    }
  }

  write(source: Source): WriteBuilder {
    return new WriteBuilder(this, source);
  }

  merge(source: Source, options: MergeOptions): MergeBuilder {
    return new MergeBuilder(this, source, options);
  }

  /** DELETE rows matching a SQL predicate (no predicate: every row). */
  delete(predicate?: string): DeleteBuilder {
    return new DeleteBuilder(this, predicate);
  }

  /** UPDATE: set columns to SQL expressions in rows matching the predicate (none: every row). */
  update(set: Record<string, string>, predicate?: string): UpdateBuilder {
    return new UpdateBuilder(this, set, predicate);
  }

  optimize(): OptimizeBuilder {
    return new OptimizeBuilder(this);
  }

  vacuum(): VacuumBuilder {
    return new VacuumBuilder(this);
  }

  restore(): RestoreBuilder {
    return new RestoreBuilder(this);
  }

  /** SET TBLPROPERTIES: a metadata-only commit (none when every value is already set). */
  setProperties(props: Record<string, string>): SetPropertiesBuilder {
    return new SetPropertiesBuilder(this, props);
  }

  /** The change data feed between two versions (inclusive). */
  changes(options: ChangesOptions): ChangesBuilder {
    return new ChangesBuilder(this, options);
  }

  close(): void {
    if (this.ownsCompute) {
      this.ctx.compute.close();
      this.ownsCompute = false;
    }
  }
}

function toMillis(ts: string | number | Date): number {
  if (typeof ts === 'number') return ts;
  if (ts instanceof Date) return ts.getTime();
  const parsed = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) || !/\d\d:\d\d/.test(ts) ? ts : ts + 'Z');
  if (Number.isNaN(parsed)) throw new InputError(`'${ts}' is not a timestamp; use ISO-8601 like 2024-05-01T12:00:00Z.`);
  return parsed;
}
