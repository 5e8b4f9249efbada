import type { Action, CommitInfo } from './actions.ts';
import type { Snapshot } from './snapshot.ts';
import type { TableContext } from './table-context.ts';
import { loadSnapshot } from './snapshot.ts';
import { parseCommit, serializeActions } from './action-codec.ts';
import { checkWinner, resolveScope, type ReadSet } from './conflict-checker.ts';
import { assertWritable } from './protocol-support.ts';
import { writeCheckpoint } from './checkpoint-writer.ts';
import { ENGINE_INFO } from './engine-info.ts';
import { CommitConflictError, CorruptLogError } from '../errors.ts';
import { versionOfTxn } from './txn-lookup.ts';

export interface CommitRequest {
  /** The snapshot the operation was planned against; undefined when creating the table. */
  read: Snapshot | undefined;
  /** Data and metadata actions (add, remove, cdc, metaData, protocol, domainMetadata). */
  actions: Action[];
  operation: string;
  operationParameters?: Record<string, unknown>;
  operationMetrics?: Record<string, number | string>;
  readSet?: ReadSet;
  /** Idempotent application transaction: a repeat of (appId, version) is a no-op. */
  appTxn?: { appId: string; version: number };
  maxRetries?: number;
  /** Checkpoint every N commits (table property `delta.checkpointInterval` wins). */
  checkpointInterval?: number;
  isolationLevel?: 'Serializable' | 'WriteSerializable';
}

export interface CommitResult {
  /** The version written, or for a skipped duplicate the version that already applied it. */
  version: number;
  snapshot: Snapshot;
  attempts: number;
  /** Set when the (appId, version) transaction had already been committed: nothing was written. */
  skipped?: { reason: 'duplicate-txn'; appId: string; txnVersion: number };
  checkpointWritten: boolean;
}

const DEFAULT_MAX_RETRIES = 50;

/**
 * Optimistic concurrency: write version N with put-if-absent; if N is taken, read the winning
 * commits, check them against what we read and wrote (Delta's rules), and either retry at the next
 * version or fail with CommitConflictError naming the kind of conflict.
 */
export async function commit(table: TableContext, request: CommitRequest): Promise<CommitResult> {
  const read = request.read;
  if (read) assertWritable(table.uri, read.protocol);
  if (read && request.appTxn) {
    const done = read.txnVersion(request.appTxn.appId);
    if (done !== undefined && done >= request.appTxn.version) {
      const appliedIn = (await versionOfTxn(read, request.appTxn.appId, request.appTxn.version)) ?? read.version;
      return { version: appliedIn, snapshot: read, attempts: 0, skipped: { reason: 'duplicate-txn', appId: request.appTxn.appId, txnVersion: done }, checkpointWritten: false };
    }
  }
  const readSet: ReadSet = request.readSet ?? { files: [], scope: 'none' };
  const isBlindAppend = readSet.scope === 'none' && readSet.files.length === 0 && request.actions.every((a) => a.add || a.commitInfo || a.txn) && request.actions.some((a) => a.add);
  const maxRetries = request.maxRetries ?? DEFAULT_MAX_RETRIES;
  const txnId = table.ids.uuid();
  let version = read ? read.version + 1 : 0;
  let previousTimestamp = read?.timestamp ?? 0;

  for (let attempt = 1; attempt <= maxRetries + 1; attempt++) {
    const now = table.clock.now();
    const ictEnabled = (read?.configuration ?? configOf(request.actions))['delta.enableInCommitTimestamps'] === 'true';
    const commitInfo: CommitInfo = {
      ...(ictEnabled ? { inCommitTimestamp: Math.max(now, previousTimestamp + 1) } : {}),
      timestamp: now,
      operation: request.operation,
      operationParameters: stringifyValues(request.operationParameters ?? {}),
      ...(read ? { readVersion: read.version } : {}),
      isolationLevel: request.isolationLevel ?? (isBlindAppend ? 'WriteSerializable' : 'Serializable'),
      isBlindAppend,
      operationMetrics: stringifyValues(request.operationMetrics ?? {}),
      engineInfo: ENGINE_INFO,
      txnId,
    };
    const txnAction: Action[] = request.appTxn ? [{ txn: { appId: request.appTxn.appId, version: request.appTxn.version, lastUpdated: now } }] : [];
    // In-commit timestamps require commitInfo to be the first action of the commit.
    const actions: Action[] = [{ commitInfo }, ...txnAction, ...request.actions];
    const text = serializeActions(actions);
    const written = await table.log.writeCommit(version, text);
    if (written) {
      const timestamp = commitInfo.inCommitTimestamp ?? now;
      let snapshot =
        read && version === read.version + 1 ? read.withCommit(actions, version, timestamp) : await loadSnapshot(table, { version });
      const interval = Number(snapshot.configuration['delta.checkpointInterval'] ?? request.checkpointInterval ?? 10);
      let checkpointWritten = false;
      if (interval > 0 && version > 0 && version % interval === 0) {
        const checkpoint = await checkpointAfterCommit(table, snapshot, now, interval);
        if (checkpoint) {
          // The removes are counted from the checkpoint just written, whose tombstones are known:
          // the next checkpoint of this handle reads neither the log nor this file for them.
          snapshot = snapshot.withCheckpoint({ version, keys: [checkpoint.key], kind: 'classic' }, checkpoint.tombstones);
          checkpointWritten = true;
        }
      }
      table.committed?.(snapshot, Buffer.byteLength(text, 'utf8'));
      return { version, snapshot, attempts: attempt, checkpointWritten };
    }
    if (!read) {
      throw new CommitConflictError(table.uri, 'metadata-changed', version, 'another writer created the table at the same time');
    }
    // Lost the race for `version`: check every commit that got in since our read.
    const latest = (await table.log.latestVersion(version)) ?? version;
    await resolveScope(readSet);
    for (let v = version; v <= latest; v++) {
      const winner = parseCommit(await table.log.readCommit(v), { tablePath: table.uri, version: v });
      const check = checkWinner(winner, v, { actions: request.actions, read: readSet, appTxn: request.appTxn }, read);
      if ('duplicateTxn' in check) {
        const snapshot = await loadSnapshot(table, { version: latest });
        return { version: v, snapshot, attempts: attempt, skipped: { reason: 'duplicate-txn', appId: check.duplicateTxn.appId, txnVersion: check.duplicateTxn.version }, checkpointWritten: false };
      }
      if (!check.ok) throw new CommitConflictError(table.uri, check.conflict.kind, v, check.conflict.detail);
      const info = winner.find((a) => a.commitInfo)?.commitInfo;
      previousTimestamp = Math.max(previousTimestamp, Number(info?.inCommitTimestamp ?? 0));
    }
    version = latest + 1;
  }
  const why = maxRetries === 0 ? 'a concurrent commit took the version and this operation does not retry' : `gave up after ${maxRetries} retries under heavy concurrent writing`;
  throw new CommitConflictError(table.uri, 'too-many-retries', version, why);
}

function configOf(actions: Action[]): Record<string, string> {
  return actions.find((a) => a.metaData)?.metaData?.configuration ?? {};
}

/** Spark records operationParameters and operationMetrics as strings; readers expect that. */
function stringifyValues(values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Writes the checkpoint due after `snapshot`'s commit. The commit is durable by now, so a failure
 * here (a full disk, a permission) must not fail the operation: a caller told "failed" would run it
 * again and apply it twice. It becomes a warning; readers replay the JSON commits meanwhile, and the
 * next due checkpoint covers this version too.
 */
async function checkpointAfterCommit(table: TableContext, snapshot: Snapshot, now: number, interval: number): Promise<Awaited<ReturnType<typeof writeCheckpoint>> | undefined> {
  try {
    return await writeCheckpoint(table, snapshot, now);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    // A log that cannot give the checkpoint its tombstones (a commit missing after a damaged
    // checkpoint) stays so: every due checkpoint is skipped until the log is repaired.
    const remedy =
      err instanceof CorruptLogError
        ? `Every later checkpoint is skipped the same way until the damaged checkpoint or the missing commits in ${table.uri}/_delta_log are restored (from a backup or the engine that removed them).`
        : `Free space or fix permissions in ${table.uri}/_delta_log.`;
    const message =
      `${table.uri}: version ${snapshot.version} is committed, but its checkpoint could not be written (${reason}). ` +
      `Nothing is lost and the operation must not be run again; reads replay the JSON commits until the next checkpoint ` +
      `(version ${snapshot.version + interval}) is written. ${remedy}`;
    if (table.warn) table.warn(message);
    else process.emitWarning(message, { type: 'LakeletWarning', code: 'LAKELET_CHECKPOINT_NOT_WRITTEN' });
    return undefined;
  }
}
