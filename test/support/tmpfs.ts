import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs is a real full disk for tests of ENOSPC handling. Mounting one needs root (or
 * CAP_SYS_ADMIN); where that is not possible, the tests that need it are skipped, saying why.
 */
let probed: boolean | undefined;
export function canMountTmpfs(): boolean {
  if (probed !== undefined) return probed;
  const dir = mkdtempSync(join(tmpdir(), 'lakelet-tmpfs-probe-'));
  try {
    mountTmpfs(dir, '16k');
    unmount(dir);
    probed = true;
  } catch (err) {
    // House rule: under CI nothing is skipped silently; CI runs as root (.ci/run installs with apt-get).
    if (process.env.CI === 'true') throw new Error(`tmpfs: cannot mount a tmpfs for the full-disk tests under CI=true (${(err as Error).message}); run as root`);
    probed = false;
    process.stderr.write('tmpfs: cannot mount a tmpfs here (not root?); the full-disk tests are skipped\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
}

/** Gives a mounted tmpfs a new size (its files stay). */
export function resizeTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' });
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
}
