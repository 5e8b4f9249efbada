import type { LogFile } from './log-store.ts';
import { CorruptLogError, NotATableError, VersionNotFoundError } from '../errors.ts';

/**
 * The files needed to reconstruct one version: at most one complete checkpoint plus the contiguous
 * commits after it. Checkpoint candidates are returned newest first so a damaged checkpoint can be
 * passed over for an older one (or for a full replay) when the commits for that still exist.
 */
export interface CheckpointCandidate {
  version: number;
  /** The files to read: one classic file, all parts of a multi-part checkpoint, or one V2 file. */
  keys: string[];
  kind: 'classic' | 'multi-part' | 'v2';
}

export interface LogSegment {
  version: number;
  checkpoints: CheckpointCandidate[];
  /** Every commit file from version 0 (or the oldest kept) through `version`, ascending. */
  commits: LogFile[];
}

export function completeCheckpoints(files: LogFile[], atOrBelow: number): CheckpointCandidate[] {
  const byVersion = new Map<number, LogFile[]>();
  for (const f of files) {
    if (f.version > atOrBelow) continue;
    if (f.kind !== 'checkpoint' && f.kind !== 'checkpoint-part' && f.kind !== 'v2-checkpoint') continue;
    const list = byVersion.get(f.version) ?? [];
    list.push(f);
    byVersion.set(f.version, list);
  }
  const out: CheckpointCandidate[] = [];
  for (const [version, list] of [...byVersion.entries()].sort((a, b) => b[0] - a[0])) {
    // Prefer V2 (it is authoritative when present), then classic, then a complete multi-part set.
    for (const v2 of list.filter((f) => f.kind === 'v2-checkpoint')) out.push({ version, keys: [v2.key], kind: 'v2' });
    const classic = list.find((f) => f.kind === 'checkpoint');
    if (classic) out.push({ version, keys: [classic.key], kind: 'classic' });
    const parts = list.filter((f) => f.kind === 'checkpoint-part');
    const byCount = new Map<number, LogFile[]>();
    for (const p of parts) byCount.set(p.parts!, [...(byCount.get(p.parts!) ?? []), p]);
    for (const [count, ps] of byCount) {
      const have = new Set(ps.map((p) => p.part));
      let complete = true;
      for (let i = 1; i <= count; i++) if (!have.has(i)) complete = false;
      if (complete) {
        const sorted = ps.sort((a, b) => a.part! - b.part!);
        out.push({ version, keys: sorted.map((p) => p.key), kind: 'multi-part' });
      }
    }
  }
  return out;
}

export function buildSegment(tablePath: string, files: LogFile[], requested?: number): LogSegment {
  const commits = files.filter((f) => f.kind === 'commit').sort((a, b) => a.version - b.version);
  const allCheckpoints = completeCheckpoints(files, Number.MAX_SAFE_INTEGER);
  if (commits.length === 0 && allCheckpoints.length === 0) throw new NotATableError(tablePath);
  const latest = Math.max(commits.at(-1)?.version ?? -1, allCheckpoints[0]?.version ?? -1);
  const version = requested ?? latest;
  if (requested !== undefined && (requested < 0 || requested > latest)) {
    throw new VersionNotFoundError(tablePath, `version ${requested} does not exist; the latest version is ${latest}.`);
  }
  // Commits must be contiguous: a gap means a commit file went missing.
  for (let i = 1; i < commits.length; i++) {
    if (commits[i].version !== commits[i - 1].version + 1 && commits[i].version <= version) {
      throw new CorruptLogError(
        tablePath,
        `the log has a gap: commit ${commits[i - 1].version} is followed by ${commits[i].version} ` +
          `(versions ${commits[i - 1].version + 1}..${commits[i].version - 1} are missing). Restore the missing commit files.`,
        { version: commits[i - 1].version + 1 },
      );
    }
  }
  const checkpoints = completeCheckpoints(files, version);
  const oldestCommit = commits[0]?.version ?? Number.MAX_SAFE_INTEGER;
  const newestCheckpoint = checkpoints[0]?.version ?? -1;
  if (oldestCommit > 0 && (newestCheckpoint < 0 || newestCheckpoint + 1 < oldestCommit)) {
    if (newestCheckpoint < 0) {
      throw new VersionNotFoundError(
        tablePath,
        `version ${version} cannot be reconstructed: the oldest commit kept is ${oldestCommit} and no checkpoint at or before ${version} exists ` +
          '(older commits were cleaned up by log retention).',
      );
    }
    throw new CorruptLogError(tablePath, `commits ${newestCheckpoint + 1}..${oldestCommit - 1} after checkpoint ${newestCheckpoint} are missing.`);
  }
  return { version, checkpoints, commits: commits.filter((c) => c.version <= version) };
}
