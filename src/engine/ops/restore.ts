import type { Action, AddFile, Protocol } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { deletionVectorKey } from '../delta/deletion-vector.ts';
import { fileKey } from '../delta/file-key.ts';
import { resolveAddPath } from '../delta/paths.ts';
import { commit } from '../delta/transaction.ts';
import { removeFor, totalBytes } from './file-selection.ts';
import { InputError, MissingFileError, NotATableError } from '../errors.ts';

export interface RestoreMetrics {
  tableSizeAfterRestore: number;
  numOfFilesAfterRestore: number;
  numRemovedFiles: number;
  numRestoredFiles: number;
  removedFilesSize: number;
  restoredFilesSize: number;
  executionTimeMs: number;
}

/**
 * RESTORE the table to an older version (or the version current at a timestamp): one commit that
 * re-adds (dataChange=true) the files of that version missing now and removes the files it did not
 * have, keyed by path and deletion vector as Delta does. The old metadata (schema, properties) comes
 * back too; the protocol never goes down (the result is the union of both protocols). Fails with
 * MissingFileError, before committing anything, when a file to bring back has been vacuumed.
 */
export class RestoreBuilder {
  private _version: number | undefined;
  private _timestamp: string | number | Date | undefined;

  constructor(private readonly table: TableHandle) {}

  version(version: number): this {
    this._version = version;
    return this;
  }
  /** ISO-8601 string, ms since the epoch, or a Date: the last version committed at or before it. */
  timestamp(timestamp: string | number | Date): this {
    this._timestamp = timestamp;
    return this;
  }

  async execute(): Promise<OperationResult<RestoreMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    if ((this._version === undefined) === (this._timestamp === undefined)) {
      throw new InputError(`${ctx.uri}: RESTORE needs either a version or a timestamp (exactly one).`);
    }
    if (this._version !== undefined && (!Number.isSafeInteger(this._version) || this._version < 0)) {
      throw new InputError(`${ctx.uri}: RESTORE needs a version of 0 or more (got ${this._version}).`);
    }
    const current = await this.table.tryLatest();
    if (!current) throw new NotATableError(ctx.uri);
    const target =
      this._version !== undefined ? await this.table.snapshot({ version: this._version }) : await this.table.snapshot({ timestamp: this._timestamp });
    if (target.version >= current.version) {
      throw new InputError(
        `${ctx.uri}: the version to restore (${target.version}) must be older than the current version (${current.version}); there is nothing to restore.`,
      );
    }

    const currentKeys = new Set(current.files.map((f) => fileKey(f.path, f.deletionVector)));
    const targetKeys = new Set(target.files.map((f) => fileKey(f.path, f.deletionVector)));
    const toAdd = target.files.filter((f) => !currentKeys.has(fileKey(f.path, f.deletionVector)));
    const toRemove = current.files.filter((f) => !targetKeys.has(fileKey(f.path, f.deletionVector)));
    await checkAvailable(target, toAdd);

    const actions: Action[] = [];
    const protocol = mergeProtocols(target.protocol, current.protocol);
    if (JSON.stringify(normalise(protocol)) !== JSON.stringify(normalise(current.protocol))) actions.push({ protocol });
    if (JSON.stringify(target.metadata) !== JSON.stringify(current.metadata)) actions.push({ metaData: target.metadata });
    const now = ctx.clock.now();
    for (const f of toRemove) actions.push(removeFor(f, now, true));
    for (const f of toAdd) actions.push({ add: { ...f, dataChange: true } });

    const metrics: RestoreMetrics = {
      tableSizeAfterRestore: target.sizeInBytes,
      numOfFilesAfterRestore: target.fileCount,
      numRemovedFiles: toRemove.length,
      numRestoredFiles: toAdd.length,
      removedFilesSize: totalBytes(toRemove),
      restoredFilesSize: totalBytes(toAdd),
      executionTimeMs: 0,
    };
    const result = await commit(ctx, {
      read: current,
      actions,
      operation: 'RESTORE',
      operationParameters: this._version !== undefined ? { version: this._version } : { timestamp: timestampParam(this._timestamp!) },
      operationMetrics: {
        tableSizeAfterRestore: metrics.tableSizeAfterRestore,
        numOfFilesAfterRestore: metrics.numOfFilesAfterRestore,
        numRemovedFiles: metrics.numRemovedFiles,
        numRestoredFiles: metrics.numRestoredFiles,
        removedFilesSize: metrics.removedFilesSize,
        restoredFilesSize: metrics.restoredFilesSize,
      },
      // Like Delta's commitLarge: a restore planned against an outdated version is not retried.
      readSet: { files: current.files, scope: 'all' },
      maxRetries: 0,
    });
    metrics.executionTimeMs = Date.now() - started;
    return { version: result.version, snapshot: result.snapshot, metrics };
  }
}

function timestampParam(ts: string | number | Date): string {
  if (ts instanceof Date) return ts.toISOString();
  if (typeof ts === 'number') return new Date(ts).toISOString();
  return ts;
}

/** Every data file (and deletion vector file) to bring back must still exist. */
async function checkAvailable(target: Snapshot, files: AddFile[]): Promise<void> {
  const { store, uri } = target.table;
  const missing = async (key: string) => !(await store.head(key));
  for (let i = 0; i < files.length; i += 32) {
    const batch = files.slice(i, i + 32);
    const results = await Promise.all(
      batch.map(async (f) => {
        const resolved = resolveAddPath(store.uri, f.path);
        if (resolved.kind === 'relative' && (await missing(resolved.key))) return f.path;
        if (f.deletionVector) {
          const dvKey = deletionVectorKey(store, f.deletionVector, { tablePath: uri, version: target.version });
          if (dvKey && (await missing(dvKey))) return dvKey;
        }
        return undefined;
      }),
    );
    const gone = results.find((r) => r !== undefined);
    if (gone) {
      throw new MissingFileError(uri, gone, target.version);
    }
  }
}

const LEGACY_WRITER_FEATURES: [number, string][] = [
  [2, 'appendOnly'],
  [2, 'invariants'],
  [3, 'checkConstraints'],
  [4, 'changeDataFeed'],
  [4, 'generatedColumns'],
  [5, 'columnMapping'],
  [6, 'identityColumns'],
];

/**
 * The smallest protocol that supports everything both protocols support: RESTORE must not take
 * away a feature the table has (older readers/writers could then corrupt it). Legacy versions are
 * expanded into their features when the result needs table features (writer 7 / reader 3).
 */
export function mergeProtocols(a: Protocol, b: Protocol): Protocol {
  const reader = Math.max(a.minReaderVersion, b.minReaderVersion);
  const writer = Math.max(a.minWriterVersion, b.minWriterVersion);
  if (writer < 7 && reader < 3) return { minReaderVersion: reader, minWriterVersion: writer };
  const writerFeatures = new Set<string>();
  const readerFeatures = new Set<string>();
  for (const p of [a, b]) {
    if (p.minWriterVersion === 7) for (const f of p.writerFeatures ?? []) writerFeatures.add(f);
    else for (const [v, f] of LEGACY_WRITER_FEATURES) if (p.minWriterVersion >= v) writerFeatures.add(f);
    if (p.minReaderVersion === 3) for (const f of p.readerFeatures ?? []) readerFeatures.add(f);
    else if (p.minReaderVersion >= 2) readerFeatures.add('columnMapping');
  }
  // Reader features are also writer features.
  for (const f of readerFeatures) writerFeatures.add(f);
  const out: Protocol = { minReaderVersion: reader, minWriterVersion: 7 };
  if (reader === 3) out.readerFeatures = [...readerFeatures].sort();
  out.writerFeatures = [...writerFeatures].sort();
  return out;
}

function normalise(p: Protocol): Protocol {
  return {
    minReaderVersion: p.minReaderVersion,
    minWriterVersion: p.minWriterVersion,
    ...(p.readerFeatures ? { readerFeatures: [...p.readerFeatures].sort() } : {}),
    ...(p.writerFeatures ? { writerFeatures: [...p.writerFeatures].sort() } : {}),
  };
}
