import type { DeletionVectorDescriptor } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableContext } from '../delta/table-context.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { parseCommit } from '../delta/action-codec.ts';
import { deletionVectorKey } from '../delta/deletion-vector.ts';
import { resolveAddPath } from '../delta/paths.ts';
import { assertWritable } from '../delta/protocol-support.ts';
import { listLog } from '../delta/snapshot.ts';
import { LEFTOVER_MIN_AGE_MS, removeWriteLeftovers } from '../delta/write-leftovers.ts';
import { configuredRetentionMs } from '../delta/retention.ts';
import { commit } from '../delta/transaction.ts';
import { CHANGE_DATA_DIR } from './cdf.ts';
import { InputError, NotATableError, RetentionTooShortError } from '../errors.ts';

export interface VacuumMetrics {
  /** Store keys (relative to the table root) deleted, or that would be deleted in a dry run. */
  filesDeleted: string[];
  numDeletedFiles: number;
  /** Bytes of the files deleted (or to delete). */
  sizeOfDataToDelete: number;
  dryRun: boolean;
  retentionMillis: number;
  executionTimeMs: number;
  /**
   * Absolute paths of what killed writers left in the table's folder and VACUUM removed (or would
   * remove): `.lakelet-tmp-*` files and `.lakelet-staging/` folders (write-leftovers.ts).
   */
  leftoversDeleted: string[];
}

const DELETE_CONCURRENCY = 16;

/**
 * VACUUM: deletes files in the table directory that the current version does not reference and
 * that are older than the retention period (default 7 days, or `delta.deletedFileRetentionDuration`):
 * data files that DELETE/UPDATE/OPTIMIZE/overwrite removed, change data files, deletion vector files,
 * and files of failed writes. It keeps every file the current snapshot references (data files and
 * their deletion vector files) and every file removed less than the retention ago (so time travel
 * within the retention keeps working). `_delta_log/` and hidden paths (a segment starting with `_`
 * or `.`, other than partition directories `name=value` and `_change_data`) are never touched,
 * except lakelet's own leftovers of killed writers (`.lakelet-tmp-*` files, in `_delta_log/` too,
 * and `.lakelet-staging/` folders): those whose writer process is gone from this host, or unchanged
 * for longer than the retention and at least an hour (a live write is never cut short).
 *
 * A retention shorter than the table's is refused unless the check is turned off explicitly.
 * Unless it is a dry run, it records 'VACUUM START' and 'VACUUM END' commits as Delta does.
 */
export class VacuumBuilder {
  private _retentionMs: number | undefined;
  private _check = true;
  private _dryRun = false;

  constructor(private readonly table: TableHandle) {}

  retentionHours(hours: number): this {
    return this.retentionMillis(hours * 3_600_000);
  }
  retentionMillis(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) throw new InputError(`${this.table.uri}: the retention must be 0 or more (got ${ms}).`);
    this._retentionMs = ms;
    return this;
  }
  /** With `false`, a retention shorter than the table's is allowed. */
  retentionCheck(enabled: boolean): this {
    this._check = enabled;
    return this;
  }
  /** Same as `retentionCheck(false)`. */
  force(): this {
    return this.retentionCheck(false);
  }
  /** Only list what would be deleted. */
  dryRun(enabled = true): this {
    this._dryRun = enabled;
    return this;
  }

  async execute(): Promise<OperationResult<VacuumMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    const snapshot = await this.table.tryLatest();
    if (!snapshot) throw new NotATableError(ctx.uri);
    // vacuumProtocolCheck: VACUUM deletes files, so it needs the writer protocol, dry run or not.
    assertWritable(ctx.uri, snapshot.protocol);
    const configured = tableRetentionMs(snapshot);
    const retention = this._retentionMs ?? configured;
    if (this._check && retention < configured) throw new RetentionTooShortError(ctx.uri, retention, configured);
    const now = ctx.clock.now();
    const cutoff = now - retention;

    const keep = await referencedKeys(ctx, snapshot, cutoff);
    const listed = await ctx.store.list('');
    const doomed = listed.filter((o) => isVacuumable(o.key) && !keep.has(o.key) && o.lastModified < cutoff);
    const size = doomed.reduce((s, o) => s + o.size, 0);
    const filesDeleted = doomed.map((o) => o.key);
    const leftovers = { now, olderThanMs: Math.max(retention, LEFTOVER_MIN_AGE_MS) };

    if (this._dryRun) {
      const leftoversDeleted = await removeWriteLeftovers(ctx.store, { ...leftovers, dryRun: true });
      return {
        version: snapshot.version,
        snapshot,
        metrics: { filesDeleted, numDeletedFiles: doomed.length, sizeOfDataToDelete: size, dryRun: true, retentionMillis: retention, executionTimeMs: Date.now() - started, leftoversDeleted },
      };
    }

    const start = await commit(ctx, {
      read: snapshot,
      actions: [],
      operation: 'VACUUM START',
      operationParameters: {
        retentionCheckEnabled: this._check,
        ...(this._retentionMs !== undefined ? { specifiedRetentionMillis: this._retentionMs } : {}),
        defaultRetentionMillis: configured,
      },
      operationMetrics: { numFilesToDelete: doomed.length, sizeOfDataToDelete: size },
    });
    let deleted = 0;
    let leftoversDeleted: string[] = [];
    let failure: unknown;
    try {
      for (let i = 0; i < filesDeleted.length; i += DELETE_CONCURRENCY) {
        await Promise.all(filesDeleted.slice(i, i + DELETE_CONCURRENCY).map((key) => ctx.store.delete(key)));
        deleted = Math.min(filesDeleted.length, i + DELETE_CONCURRENCY);
      }
      leftoversDeleted = await removeWriteLeftovers(ctx.store, leftovers);
    } catch (err) {
      failure = err;
    }
    const end = await commit(ctx, {
      read: start.snapshot,
      actions: [],
      operation: 'VACUUM END',
      operationParameters: { status: failure ? 'FAILED' : 'COMPLETED' },
      operationMetrics: { numDeletedFiles: deleted, numVacuumedDirectories: 0 },
    });
    if (failure) throw failure;
    return {
      version: end.version,
      snapshot: end.snapshot,
      metrics: { filesDeleted, numDeletedFiles: deleted, sizeOfDataToDelete: size, dryRun: false, retentionMillis: retention, executionTimeMs: Date.now() - started, leftoversDeleted },
    };
  }
}

/** `delta.deletedFileRetentionDuration` in ms (default 7 days). */
export function tableRetentionMs(snapshot: Snapshot): number {
  const ms = configuredRetentionMs(snapshot.configuration);
  if (ms === undefined) {
    const text = snapshot.configuration['delta.deletedFileRetentionDuration'];
    throw new InputError(
      `${snapshot.table.uri}: delta.deletedFileRetentionDuration is ${JSON.stringify(text)}, which is not an interval like 'interval 7 days'.`,
    );
  }
  return ms;
}

/** Paths VACUUM may delete: not the log, not hidden (except partition directories and change data). */
export function isVacuumable(key: string): boolean {
  if (key.startsWith('_delta_log/')) return false;
  const segments = key.split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (!seg.startsWith('_') && !seg.startsWith('.')) continue;
    if (i === 0 && seg === CHANGE_DATA_DIR && segments.length > 1) continue;
    const isDirectory = i < segments.length - 1;
    if (isDirectory && seg.includes('=')) continue;
    return false;
  }
  return true;
}

/**
 * Store keys that must survive: files of the current snapshot (and their DV files), and files
 * removed after `cutoff` (tombstones still within the retention), read from the commits in the log.
 */
async function referencedKeys(ctx: TableContext, snapshot: Snapshot, cutoff: number): Promise<Set<string>> {
  const keep = new Set<string>();
  const addPath = (path: string) => {
    const resolved = resolveAddPath(ctx.store.uri, path);
    if (resolved.kind === 'relative') keep.add(resolved.key);
  };
  const addDv = (dv: DeletionVectorDescriptor | null | undefined, version: number) => {
    if (!dv) return;
    try {
      const key = deletionVectorKey(ctx.store, dv, { tablePath: ctx.uri, version });
      if (key) keep.add(key);
    } catch {
      // A DV outside the table root is not ours to delete.
    }
  };
  for (const f of snapshot.files) {
    addPath(f.path);
    addDv(f.deletionVector, snapshot.version);
  }
  const commits = (await listLog(ctx)).filter((f) => f.kind === 'commit' && f.version <= snapshot.version);
  for (let i = 0; i < commits.length; i += 32) {
    const batch = commits.slice(i, i + 32);
    const parsed = await Promise.all(
      batch.map(async (c) => ({ version: c.version, actions: parseCommit(await ctx.log.readCommit(c.version), { tablePath: ctx.uri, version: c.version, file: c.key }) })),
    );
    for (const { version, actions } of parsed) {
      for (const a of actions) {
        if (!a.remove) continue;
        if ((a.remove.deletionTimestamp ?? 0) <= cutoff) continue;
        addPath(a.remove.path);
        addDv(a.remove.deletionVector, version);
      }
    }
  }
  return keep;
}
