import type { CommitInfo } from './actions.ts';
import type { TableContext } from './table-context.ts';
import type { LogFile } from './log-store.ts';
import { parseCommit } from './action-codec.ts';
import { commitTimestamp } from './snapshot.ts';

export interface HistoryEntry {
  version: number;
  /** ms since the epoch: in-commit timestamp when present, else commitInfo.timestamp, else file time. */
  timestamp: number;
  operation: string;
  operationParameters: Record<string, unknown>;
  operationMetrics: Record<string, unknown>;
  readVersion?: number;
  isolationLevel?: string;
  isBlindAppend?: boolean;
  engineInfo?: string;
  userMetadata?: unknown;
}

/** Newest first. Reads only the commits it returns, so `limit` keeps history cheap on long logs. */
export async function readHistory(table: TableContext, listing: LogFile[], limit?: number): Promise<HistoryEntry[]> {
  const commits = listing.filter((f) => f.kind === 'commit').sort((a, b) => b.version - a.version);
  const chosen = limit !== undefined ? commits.slice(0, limit) : commits;
  const entries = await Promise.all(
    chosen.map(async (commit) => {
      const actions = parseCommit(await table.log.readCommit(commit.version), { tablePath: table.uri, version: commit.version, file: commit.key });
      const info: CommitInfo = actions.find((a) => a.commitInfo)?.commitInfo ?? {};
      return {
        version: commit.version,
        // The same clock as time travel uses (in-commit timestamp, else the commit file time), so a
        // timestamp read here and passed back to `--timestamp` selects this very version.
        timestamp: commitTimestamp(actions, commit),
        operation: info.operation ?? 'UNKNOWN',
        operationParameters: info.operationParameters ?? {},
        operationMetrics: info.operationMetrics ?? {},
        readVersion: info.readVersion,
        isolationLevel: info.isolationLevel,
        isBlindAppend: info.isBlindAppend,
        engineInfo: info.engineInfo,
        userMetadata: info.userMetadata,
      } satisfies HistoryEntry;
    }),
  );
  return entries;
}
