/**
 * Crash injection for the exactly-once tests: with LAKELET_CRASH_AT=<point> the process kills
 * itself with SIGKILL (no cleanup, no flush) when it reaches that point, like a power cut.
 * `<point>:<seq>` crashes only in that batch.
 */
export type CrashPoint = 'after-extract' | 'after-manifest' | 'after-quarantine' | 'after-stage-commit' | 'after-archive' | 'after-tombstones' | 'after-target-commit' | 'after-log';

export function crashPoint(point: CrashPoint, seq: number): void {
  const wanted = process.env.LAKELET_CRASH_AT;
  if (!wanted) return;
  const [name, onSeq] = wanted.split(':');
  if (name !== point) return;
  if (onSeq !== undefined && Number(onSeq) !== seq) return;
  process.kill(process.pid, 'SIGKILL');
}
