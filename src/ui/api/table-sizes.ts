import type { DeltaTable } from '../../engine/table.ts';
import { parseCommit } from '../../engine/delta/action-codec.ts';
import { listLog } from '../../engine/delta/snapshot.ts';

/**
 * Table size and file count after each recent version, for the "size over versions" chart. The
 * latest snapshot's totals are exact; each older version is the next one minus what that commit
 * added plus what it removed, so one read per commit (the commits history reads anyway) instead
 * of a snapshot per version. A remove without a size (allowed by Delta) leaves older sizes unknown.
 */
export interface VersionSize {
  version: number;
  bytes: number | null;
  files: number;
}

export async function versionSizes(table: DeltaTable, limit: number): Promise<VersionSize[]> {
  const latest = await table.latest();
  const commits = (await listLog(table.ctx)).filter((f) => f.kind === 'commit' && f.version <= latest.version).sort((a, b) => b.version - a.version).slice(0, limit);
  const out: VersionSize[] = [];
  let bytes: number | null = latest.sizeInBytes;
  let files = latest.fileCount;
  let expected = latest.version;
  for (const commit of commits) {
    if (commit.version !== expected) break; // a gap (cleaned-up log): older sizes cannot be derived
    out.push({ version: commit.version, bytes, files });
    const actions = parseCommit(await table.ctx.log.readCommit(commit.version), { tablePath: table.uri, version: commit.version, file: commit.key });
    for (const a of actions) {
      if (a.add) {
        files -= 1;
        if (bytes !== null) bytes -= a.add.size;
      }
      if (a.remove) {
        files += 1;
        bytes = bytes === null || a.remove.size === undefined || a.remove.size === null ? null : bytes + a.remove.size;
      }
    }
    expected -= 1;
  }
  return out.reverse();
}
