import type { TableContext } from './table-context.ts';
import type { LogFile } from './log-store.ts';
import { parseCommit } from './action-codec.ts';
import { commitTimestamp } from './snapshot.ts';
import { VersionNotFoundError } from '../errors.ts';

/**
 * The version current at `timestamp`: the newest commit whose timestamp is <= it. Commit times are
 * in-commit timestamps from `enablementVersion` on (when the table enabled them) and file
 * modification times before, made strictly increasing as Delta does (clock skew between writers
 * must not make time run backwards).
 */
export async function versionAtTimestamp(
  table: TableContext,
  listing: LogFile[],
  timestamp: number,
  ict?: { enablementVersion: number },
): Promise<number> {
  const commits = listing.filter((f) => f.kind === 'commit').sort((a, b) => a.version - b.version);
  if (commits.length === 0) throw new VersionNotFoundError(table.uri, 'the table has no commits to time travel over.');
  const times = new Map<number, number>();
  let previous = -Infinity;
  const timeOf = async (c: LogFile): Promise<number> => {
    const cached = times.get(c.version);
    if (cached !== undefined) return cached;
    let t = c.lastModified;
    if (ict && c.version >= ict.enablementVersion) {
      const actions = parseCommit(await table.log.readCommit(c.version), { tablePath: table.uri, version: c.version, file: c.key });
      t = commitTimestamp(actions, c);
    }
    times.set(c.version, t);
    return t;
  };
  // File times: monotonic adjustment needs a forward pass over the pre-ICT range.
  for (const c of commits) {
    if (ict && c.version >= ict.enablementVersion) break;
    const t = Math.max(c.lastModified, previous + 1);
    times.set(c.version, t);
    previous = t;
  }
  const first = await timeOf(commits[0]);
  const last = await timeOf(commits[commits.length - 1]);
  if (timestamp < first) {
    throw new VersionNotFoundError(
      table.uri,
      `timestamp ${new Date(timestamp).toISOString()} is before the earliest available commit (version ${commits[0].version} at ${new Date(first).toISOString()}).`,
    );
  }
  if (timestamp >= last) return commits[commits.length - 1].version;
  // Binary search: newest commit with time <= timestamp.
  let lo = 0;
  let hi = commits.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await timeOf(commits[mid])) <= timestamp) lo = mid;
    else hi = mid - 1;
  }
  return commits[lo].version;
}
