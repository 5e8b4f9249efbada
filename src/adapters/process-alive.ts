/**
 * Whether the writer a leftover's name points to (`pid`, NaN when the name carries none) is gone
 * from this host: never this process, and never a pid that is still running (it may be reused).
 */
export function writerGone(pid: number): boolean {
  return Number.isInteger(pid) && pid !== process.pid && !processAlive(pid);
}

/** Whether a process with this pid exists (EPERM: it does, but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
