import type { Action, AddFile, DomainMetadata, Metadata, Protocol, RemoveFile, Txn } from './actions.ts';
import type { StructType } from './schema.ts';
import { parseSchemaString } from './schema.ts';
import type { TableContext } from './table-context.ts';
import { padVersion, type LastCheckpoint, type LogFile } from './log-store.ts';
import { parseCommit } from './action-codec.ts';
import { readCheckpointFiles, UnreadableCheckpointError } from './checkpoint-reader.ts';
import { buildSegment, completeCheckpoints, type CheckpointCandidate } from './log-segment.ts';
import { fileKey } from './file-key.ts';
import { RemoveLedger } from './remove-ledger.ts';
import { assertReadable } from './protocol-support.ts';
import { CorruptLogError, LakeletError, NotATableError, VersionNotFoundError } from '../errors.ts';

const EMPTY_SCHEMA = '{"type":"struct","fields":[]}';

/** An immutable view of a table at one version: protocol, metadata and the active files. */
export class Snapshot {
  readonly schema: StructType;
  constructor(
    readonly table: TableContext,
    readonly version: number,
    readonly protocol: Protocol,
    readonly metadata: Metadata,
    private readonly fileMap: Map<string, AddFile>,
    readonly txns: ReadonlyMap<string, Txn>,
    readonly domains: ReadonlyMap<string, DomainMetadata>,
    /** Commit timestamp of this version (in-commit timestamp when enabled, else file time). */
    readonly timestamp: number,
    /** For txns set by a commit this snapshot replayed (not read from a checkpoint): that version. */
    private readonly txnCommits: ReadonlyMap<string, number> = new Map(),
    /**
     * The removes since the checkpoint this snapshot was replayed from, for the next checkpoint's
     * tombstones; undefined for a snapshot not built by replay (the writer then reads the log).
     */
    readonly removes?: RemoveLedger,
  ) {
    try {
      // Old writers could omit schemaString; Delta's default for it is the empty schema.
      this.schema = parseSchemaString(metadata.schemaString ?? EMPTY_SCHEMA);
    } catch (err) {
      throw new CorruptLogError(table.uri, `metaData.schemaString at version ${version} is not a valid schema.`, {
        cause: err,
        version,
      });
    }
  }

  get files(): AddFile[] {
    return [...this.fileMap.values()];
  }
  get fileCount(): number {
    return this.fileMap.size;
  }
  get partitionColumns(): string[] {
    return this.metadata.partitionColumns ?? [];
  }
  get configuration(): Record<string, string> {
    return this.metadata.configuration ?? {};
  }
  /** The last committed version of an application's idempotent transaction, if any. */
  txnVersion(appId: string): number | undefined {
    return this.txns.get(appId)?.version;
  }
  /**
   * The table version whose commit set the application's current txn, when this snapshot replayed
   * that commit; undefined when the txn came from a checkpoint (the caller then searches history).
   */
  txnCommittedIn(appId: string): number | undefined {
    return this.txnCommits.get(appId);
  }
  get sizeInBytes(): number {
    let total = 0;
    for (const f of this.fileMap.values()) total += f.size;
    return total;
  }
  hasFile(path: string, dv?: AddFile['deletionVector']): boolean {
    return this.fileMap.has(fileKey(path, dv));
  }

  /** The snapshot after one more commit, without re-reading the log (our own commit, just written). */
  withCommit(actions: Action[], version: number, timestamp: number): Snapshot {
    const state = new ReplayState();
    state.protocol = this.protocol;
    state.metadata = this.metadata;
    state.files = new Map(this.fileMap);
    state.txns = new Map(this.txns);
    state.domains = new Map(this.domains);
    state.txnCommits = new Map(this.txnCommits);
    state.removes = this.removes;
    state.apply(actions, version);
    assertReadable(this.table.uri, state.protocol!);
    return new Snapshot(this.table, version, state.protocol!, state.metadata!, state.files, state.txns, state.domains, timestamp, state.txnCommits, state.removes);
  }

  /**
   * This snapshot, its removes now counted from `checkpoint` at its own version (one just written,
   * whose removes are `removes` when known): the ledger then holds only what follows it.
   */
  withCheckpoint(checkpoint: CheckpointCandidate, removes?: readonly RemoveFile[]): Snapshot {
    const ledger = RemoveLedger.startingAt(checkpoint, undefined, removes);
    return new Snapshot(this.table, this.version, this.protocol, this.metadata, this.fileMap, this.txns, this.domains, this.timestamp, this.txnCommits, ledger);
  }
}

/** Accumulates log actions in commit order into table state. */
class ReplayState {
  protocol: Protocol | undefined;
  metadata: Metadata | undefined;
  files = new Map<string, AddFile>();
  txns = new Map<string, Txn>();
  domains = new Map<string, DomainMetadata>();
  txnCommits = new Map<string, number>();
  /** The removes of the commits applied (see RemoveLedger); undefined: not kept. */
  removes: RemoveLedger | undefined;

  /** `version`: the commit the actions come from (none for a checkpoint). */
  apply(actions: Action[], version?: number): void {
    // Within one commit, removes are applied before adds: a commit that replaces a file's deletion
    // vector removes (path, oldDv) and adds (path, newDv); re-adding the same key must survive.
    // A checkpoint read into empty state has nothing to remove: its removes are tombstones of
    // files gone before it (10,000 actions not walked twice when a snapshot opens).
    const tombstonesOnly = version === undefined && this.files.size === 0;
    if (!tombstonesOnly) {
      let removed: RemoveFile[] | undefined;
      for (const a of actions) {
        if (!a.remove) continue;
        this.files.delete(fileKey(a.remove.path, a.remove.deletionVector));
        if (version !== undefined) (removed ??= []).push(a.remove);
      }
      if (removed && this.removes) this.removes = this.removes.withRemoves(removed);
    }
    // An index loop: a checkpoint's 10,000 actions are applied by code not yet optimised, where
    // for-of allocates an iterator result per action.
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      const add = a.add;
      if (add) this.files.set(fileKey(add.path, add.deletionVector), normaliseAdd(add));
      else if (a.protocol) this.protocol = a.protocol;
      else if (a.metaData) this.metadata = a.metaData;
      else if (a.txn) {
        this.txns.set(a.txn.appId, a.txn);
        if (version === undefined) this.txnCommits.delete(a.txn.appId);
        else this.txnCommits.set(a.txn.appId, version);
      }
      else if (a.domainMetadata) {
        if (a.domainMetadata.removed) this.domains.delete(a.domainMetadata.domain);
        else this.domains.set(a.domainMetadata.domain, a.domainMetadata);
      }
    }
  }
}

function normaliseAdd(add: AddFile): AddFile {
  return add.partitionValues ? add : { ...add, partitionValues: {} };
}

export interface SnapshotOptions {
  version?: number;
}

/**
 * The snapshot after the commits that followed `base` (read by the caller from `listFrom`), applied
 * on top of it without reading the log from the start; undefined when those commits do not follow
 * on (a gap, or the log was replaced): the caller then loads afresh.
 */
export async function advanceSnapshot(base: Snapshot, newer: LogFile[]): Promise<Snapshot | undefined> {
  const commits = newer.filter((f) => f.kind === 'commit' && f.version > base.version).sort((a, b) => a.version - b.version);
  // Another writer's checkpoints among them: the removes are counted from the newest one passed,
  // so a handle that follows a long log holds only the removes since its last checkpoint.
  const checkpoints = new Map<number, CheckpointCandidate>();
  for (const c of completeCheckpoints(newer, Number.MAX_SAFE_INTEGER)) if (!checkpoints.has(c.version)) checkpoints.set(c.version, c);
  let snap = base;
  for (const commit of commits) {
    if (commit.version !== snap.version + 1) return undefined;
    const actions = parseCommit(await base.table.log.readCommit(commit.version), { tablePath: base.table.uri, version: commit.version, file: commit.key });
    snap = snap.withCommit(actions, commit.version, commitTimestamp(actions, commit));
    const checkpoint = checkpoints.get(commit.version);
    if (checkpoint && snap.removes) snap = snap.withCheckpoint(checkpoint);
  }
  return snap;
}

/** Lists the log once; time travel and history reuse the listing. */
export async function listLog(table: TableContext): Promise<LogFile[]> {
  return table.log.listLogFiles(0);
}

/**
 * The latest snapshot of a table opened afresh, listed from the checkpoint `_last_checkpoint` names:
 * on an object store the log is then one listing page from there, not every page since version 0.
 * The hint is only a hint (stale, or naming a checkpoint that is gone or damaged): when what is
 * listed from it does not load, the whole log is listed and loaded as without it.
 */
export async function loadLatestSnapshot(table: TableContext): Promise<Snapshot> {
  const hint = await table.log.readLastCheckpoint();
  if (hint && hint.version > 0) {
    try {
      const listing = table.log.listFrom(hint.version);
      listing.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
      return await loadSnapshot(table, {}, await listing, readHintedCheckpoint(table, hint), hint);
    } catch (err) {
      const logProblem = err instanceof CorruptLogError || err instanceof VersionNotFoundError || err instanceof NotATableError || err instanceof UnreadableCheckpointError;
      if (!logProblem) throw err;
    }
  }
  return loadSnapshot(table, {}, await listLog(table), undefined, hint);
}

/** Delta's default `delta.checkpointInterval` (and lakelet's): where time travel looks for a checkpoint first. */
const DEFAULT_CHECKPOINT_INTERVAL = 10;

/**
 * The snapshot at `version` of a table opened afresh (time travel), without listing the whole log:
 * at or after the checkpoint `_last_checkpoint` names, the log is listed from there; before it,
 * only the range from the checkpoint the default interval puts at or below `version` (one listing
 * of a few names, not every commit since 0). Both are guesses checked by loading: a table with
 * another interval, a missing or damaged checkpoint, or a version that does not exist falls back
 * to the whole listing, which gives the same answer or the same error as always.
 */
export async function loadSnapshotAt(table: TableContext, version: number): Promise<Snapshot> {
  const hint = await table.log.readLastCheckpoint();
  try {
    if (hint && hint.version > 0 && hint.version <= version) return await loadSnapshot(table, { version }, await table.log.listFrom(hint.version), undefined, hint);
    if (hint && hint.version > version && version >= 0) {
      const from = version - (version % DEFAULT_CHECKPOINT_INTERVAL);
      return await loadSnapshot(table, { version }, await table.log.listRange(from, version + 1), undefined, hint);
    }
  } catch (err) {
    const logProblem = err instanceof CorruptLogError || err instanceof VersionNotFoundError || err instanceof NotATableError || err instanceof UnreadableCheckpointError;
    if (!logProblem) throw err;
  }
  return loadSnapshot(table, { version }, await listLog(table), undefined, hint);
}

/** A checkpoint read before the listing confirmed it (readHintedCheckpoint). */
interface EarlyCheckpoint {
  version: number;
  key: string;
  actions: Promise<Action[]>;
}

/**
 * Starts reading the classic checkpoint `_last_checkpoint` names while the log is listed: on a
 * local disk, listing a long log waits for thousands of names, and the checkpoint is decoded
 * meanwhile. Only a guess: loadSnapshot uses it when the listing makes that very file the
 * checkpoint to start from (the same read it would do), and drops it otherwise.
 */
function readHintedCheckpoint(table: TableContext, hint: LastCheckpoint): EarlyCheckpoint | undefined {
  if (hint.parts !== undefined && hint.parts !== null) return undefined;
  if (hint.v2Checkpoint !== undefined && hint.v2Checkpoint !== null) return undefined;
  const key = `_delta_log/${padVersion(hint.version)}.checkpoint.parquet`;
  const actions = readCheckpoint(table, { version: hint.version, keys: [key], kind: 'classic' });
  actions.catch(() => undefined); // taken (and its error seen) by loadSnapshot, or dropped
  return { version: hint.version, key, actions };
}

/**
 * `hint`: `_last_checkpoint` as the caller read it, kept with the snapshot's removes (it may show
 * that the checkpoint replay starts from holds no remove, which the next checkpoint then needs not read).
 */
export async function loadSnapshot(table: TableContext, options: SnapshotOptions = {}, listing?: LogFile[], early?: EarlyCheckpoint, hint?: LastCheckpoint): Promise<Snapshot> {
  const files = listing ?? (await listLog(table));
  const segment = buildSegment(table.uri, files, options.version);
  const commitByVersion = new Map(segment.commits.map((c) => [c.version, c]));

  // Try the newest checkpoint first; fall back to an older one (or none) if it is damaged and the
  // commits needed to replay past it still exist.
  let lastError: unknown;
  const candidates: (CheckpointCandidate | undefined)[] = [...segment.checkpoints, undefined];
  for (const checkpoint of candidates) {
    const from = checkpoint ? checkpoint.version + 1 : 0;
    if (!checkpoint && !commitByVersion.has(0)) break;
    if (checkpoint && lastError && !hasCommits(commitByVersion, checkpoint.version + 1, segment.version)) continue;
    try {
      const state = new ReplayState();
      state.removes = RemoveLedger.startingAt(checkpoint, hint);
      // The commits after the checkpoint are read while the checkpoint is (a few at a time).
      const commitTexts = new CommitPrefetch(table, from, segment.version, commitByVersion);
      const hinted = early && checkpoint?.kind === 'classic' && checkpoint.version === early.version && checkpoint.keys[0] === early.key ? early : undefined;
      if (hinted) early = undefined; // used once
      if (checkpoint) state.apply(await (hinted ? hinted.actions : readCheckpoint(table, checkpoint)));
      let timestamp = 0;
      for (let v = from; v <= segment.version; v++) {
        const commit = commitByVersion.get(v);
        if (!commit) {
          throw new CorruptLogError(table.uri, `commit ${v} is missing from the log.`, { version: v });
        }
        const actions = parseCommit(await commitTexts.take(v), { tablePath: table.uri, version: v, file: commit.key });
        state.apply(actions, v);
        timestamp = commitTimestamp(actions, commit);
      }
      if (timestamp === 0) timestamp = commitByVersion.get(segment.version)?.lastModified ?? 0;
      if (!state.protocol) {
        throw new CorruptLogError(table.uri, `no protocol action found in the log up to version ${segment.version}; the table is corrupt.`, {
          version: segment.version,
        });
      }
      if (!state.metadata && state.protocol.minReaderVersion < 3) {
        // Delta 0.x writers (and Delta Standalone) treated a log without metaData as the default
        // empty Metadata; logs of that legacy protocol era are read that way. Table-features
        // tables (reader v3) must carry metaData, and its absence is corruption.
        state.metadata = { id: '', format: { provider: 'parquet', options: {} }, schemaString: EMPTY_SCHEMA, partitionColumns: [], configuration: {} };
      }
      if (!state.metadata) {
        throw new CorruptLogError(table.uri, `no metaData action found in the log up to version ${segment.version}; the table is corrupt.`, {
          version: segment.version,
        });
      }
      assertReadable(table.uri, state.protocol);
      return new Snapshot(table, segment.version, state.protocol, state.metadata, state.files, state.txns, state.domains, timestamp, state.txnCommits, state.removes);
    } catch (err) {
      // Only an unreadable checkpoint is worth retrying from an older starting point; a readable
      // one that lacks protocol/metaData is a corrupt table, as Spark and delta-rs treat it.
      if (!(err instanceof UnreadableCheckpointError) || !checkpoint) throw err;
      lastError = err;
    }
  }
  if (lastError) throw lastError;
  throw new LakeletError('CORRUPT_LOG', `${table.uri}: version ${segment.version} cannot be reconstructed from the log.`);
}

/**
 * Reads commit files ahead of replay, at most WINDOW at once (a full replay of a long log on an
 * object store must not open thousands of requests). A read that fails surfaces when its version
 * is taken, as the sequential read did.
 */
class CommitPrefetch {
  private static readonly WINDOW = 16;
  private readonly pending = new Map<number, Promise<string>>();
  private next: number;

  constructor(
    private readonly table: TableContext,
    from: number,
    private readonly to: number,
    private readonly commits: Map<number, LogFile>,
  ) {
    this.next = from;
    this.fill(from);
  }

  take(version: number): Promise<string> {
    const text = this.pending.get(version) ?? this.table.log.readCommit(version);
    this.pending.delete(version);
    this.fill(version + 1);
    return text;
  }

  private fill(from: number): void {
    this.next = Math.max(this.next, from);
    while (this.next <= this.to && this.next < from + CommitPrefetch.WINDOW) {
      const v = this.next++;
      if (!this.commits.has(v)) continue;
      const text = this.table.log.readCommit(v);
      // Taken later (or never, when replay stops early): no unhandled rejection meanwhile.
      text.catch(() => undefined);
      this.pending.set(v, text);
    }
  }
}

function hasCommits(commits: Map<number, LogFile>, from: number, to: number): boolean {
  for (let v = from; v <= to; v++) if (!commits.has(v)) return false;
  return true;
}

/**
 * A checkpoint's actions, sidecars included. Its removes are tombstones of files gone before it:
 * a snapshot keeps none (see apply), so they are left out unless `tombstones` (the checkpoint
 * writer carries them on).
 */
export async function readCheckpoint(table: TableContext, checkpoint: CheckpointCandidate, tombstones = false): Promise<Action[]> {
  const ctx = { tablePath: table.uri, version: checkpoint.version };
  const options = { tombstones };
  const actions = await readCheckpointFiles(table.compute, table.store, checkpoint.keys, ctx, options);
  const sidecars = actions.filter((a) => a.sidecar).map((a) => `_delta_log/_sidecars/${a.sidecar!.path}`);
  if (sidecars.length > 0) actions.push(...(await readCheckpointFiles(table.compute, table.store, sidecars, ctx, options)));
  if (!actions.some((a) => a.metaData) || !actions.some((a) => a.protocol)) {
    throw new CorruptLogError(
      table.uri,
      `checkpoint at version ${checkpoint.version} has no ${actions.some((a) => a.protocol) ? 'metaData' : 'protocol'} action; the table is corrupt.`,
      { version: checkpoint.version },
    );
  }
  return actions;
}

/** In-commit timestamp when the commit carries one, else the commit file's modification time. */
export function commitTimestamp(actions: Action[], commit: LogFile): number {
  const info = actions.find((a) => a.commitInfo)?.commitInfo;
  if (info?.inCommitTimestamp !== undefined) return Number(info.inCommitTimestamp);
  return commit.lastModified;
}
