import type { Action, AddFile, RemoveFile } from './actions.ts';
import type { Snapshot } from './snapshot.ts';
import type { ConflictKind } from '../errors.ts';
import { fileKey } from './file-key.ts';
import { parseStats } from './stats.ts';
import { canSkipFile, type Predicate } from './skipping.ts';
import { columnMappingMode, physicalName } from './column-mapping.ts';

/** What our transaction depended on, for checking it against commits that won the race. */
export interface ReadSet {
  /** Files we read and whose content our writes depend on (for merge/update/delete). */
  files: (AddFile | RemoveFile)[];
  /**
   * The part of the table we read: 'none' for a blind append, 'all' when we read every row,
   * or a compiled predicate: new files that may match it would have changed our result. A
   * function compiles the predicate only when a concurrent commit has to be checked (compiling
   * takes DuckDB round trips that an uncontended commit never needs).
   */
  scope: 'none' | 'all' | Predicate | (() => Promise<Predicate | 'none'>);
}

/** Compiles a lazy read scope (once) before commits are checked against it. */
export async function resolveScope(readSet: ReadSet): Promise<void> {
  if (typeof readSet.scope === 'function') readSet.scope = await readSet.scope();
}

export interface Conflict {
  kind: ConflictKind;
  detail: string;
}

export type WinnerCheck = { ok: true } | { ok: false; conflict: Conflict } | { duplicateTxn: { appId: string; version: number } };

/**
 * Delta's WriteSerializable rules, applied to one winning commit:
 *  - a protocol or metaData change invalidates everything we planned;
 *  - a file we read or remove, removed by the winner, means our result is stale;
 *  - a data file the winner added (outside a blind append) that could match what we read means
 *    we missed rows;
 *  - the same application transaction id means someone already did (or is doing) our work.
 */
export function checkWinner(
  winner: Action[],
  winnerVersion: number,
  ours: { actions: Action[]; read: ReadSet; appTxn?: { appId: string; version: number } },
  snapshot: Snapshot,
): WinnerCheck {
  if (ours.appTxn) {
    const theirs = winner.find((a) => a.txn?.appId === ours.appTxn!.appId)?.txn;
    if (theirs && theirs.version >= ours.appTxn.version) return { duplicateTxn: { appId: theirs.appId, version: theirs.version } };
    if (theirs) {
      return { ok: false, conflict: { kind: 'concurrent-transaction', detail: `application '${theirs.appId}' committed its version ${theirs.version} in version ${winnerVersion}` } };
    }
  }
  // Two writers setting the same metadata domain: the later one planned from a stale value.
  const ourDomains = new Set(ours.actions.filter((a) => a.domainMetadata).map((a) => a.domainMetadata!.domain));
  const sameDomain = winner.find((a) => a.domainMetadata && ourDomains.has(a.domainMetadata.domain))?.domainMetadata;
  if (sameDomain) {
    return { ok: false, conflict: { kind: 'metadata-changed', detail: `version ${winnerVersion} also set domain metadata '${sameDomain.domain}'` } };
  }
  if (winner.some((a) => a.protocol)) {
    return { ok: false, conflict: { kind: 'protocol-changed', detail: `version ${winnerVersion} changed the table protocol` } };
  }
  if (winner.some((a) => a.metaData)) {
    return { ok: false, conflict: { kind: 'metadata-changed', detail: `version ${winnerVersion} changed the table metadata (schema, partitioning or properties)` } };
  }
  const readKeys = new Set(ours.read.files.map((f) => fileKey(f.path, f.deletionVector)));
  const removeKeys = new Set(ours.actions.filter((a) => a.remove).map((a) => fileKey(a.remove!.path, a.remove!.deletionVector)));
  for (const a of winner) {
    if (!a.remove) continue;
    const key = fileKey(a.remove.path, a.remove.deletionVector);
    if (removeKeys.has(key)) {
      return { ok: false, conflict: { kind: 'concurrent-delete-delete', detail: `version ${winnerVersion} also removed ${a.remove.path}` } };
    }
    if (readKeys.has(key) && a.remove.dataChange !== false) {
      return { ok: false, conflict: { kind: 'concurrent-delete-read', detail: `version ${winnerVersion} removed ${a.remove.path}, which this operation read` } };
    }
  }
  const scope = ours.read.scope;
  if (typeof scope === 'function') throw new Error('checkWinner: resolve a lazy read scope first (resolveScope)');
  if (scope !== 'none') {
    const info = winner.find((a) => a.commitInfo)?.commitInfo;
    const blindAppend = info?.isBlindAppend === true;
    if (!blindAppend) {
      const mode = columnMappingMode(snapshot.metadata);
      const physical = new Map(snapshot.schema.fields.map((f) => [f.name.toLowerCase(), physicalName(f, mode)]));
      for (const a of winner) {
        if (!a.add || a.add.dataChange === false) continue;
        const matches =
          scope === 'all' ||
          !canSkipFile(scope, { partitionValues: a.add.partitionValues ?? {}, stats: parseStats(a.add.stats) }, snapshot.schema, snapshot.partitionColumns, (n: string) => physical.get(n.toLowerCase()) ?? n);
        if (matches) {
          return { ok: false, conflict: { kind: 'concurrent-append', detail: `version ${winnerVersion} added ${a.add.path}, which may hold rows this operation read` } };
        }
      }
    }
  }
  return { ok: true };
}
