// Test peers: other Delta implementations that must read what lakelet writes and write what it reads.
//
// House rule: with CI=true a missing peer fails the run (`npm test` installs every peer first, its
// pretest script runs `bash scripts/setup-peers.sh --optional`, so a missing one is a broken setup,
// not a reason to skip); on a developer's machine without CI the test is skipped with a warning.
//
//   const mode = requirePeer('delta-rs', deltaRsAvailable);
//   describe.skipIf(mode === 'skip')('reads what delta-rs writes', () => { ... });
//
// LAKELET_VENV overrides where the Python venv lives (default <repo>/.venv), for this file and for
// scripts/setup-peers.sh alike.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from './process.ts';

/** The repository root (this file is test/support/peers.ts). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The delta-rs peer script run by {@link runDeltaRs}. */
export const deltaRsPeerScript: string = path.join(repoRoot, 'test', 'peers', 'deltars_peer.py');

const SETUP_COMMAND = 'bash scripts/setup-peers.sh';

/** What each peer needs, for the message that says what to install. */
const PEER_INSTALL_HINTS: Record<string, string> = {
  'delta-rs':
    'the Python `deltalake` package in a venv at .venv/ (LAKELET_VENV overrides the place), pinned in test/peers/requirements.txt',
  chromium:
    "Debian's chromium browser at /usr/bin/chromium (CHROMIUM overrides the place), installed as root with `apt-get install -y chromium` (the README's Prerequisites; .ci/run does it)",
  'fake-gcs-server':
    'the GCS emulator binary at .tools/bin/fake-gcs-server (LAKELET_FAKE_GCS_SERVER overrides the place), built by `go install github.com/fsouza/fake-gcs-server@v1.56.1` (needs Go; fake-gcs-server asks for 1.26)',
  bqemulator:
    'the BigQuery emulator `bqemulator` 1.4.0 in a venv at .tools/bqemulator-venv/ (LAKELET_BQEMULATOR_VENV overrides the place), pinned with DuckDB 1.5.5 and its offline spatial extension in test/peers/bqemulator-requirements.txt (needs Python 3.10+)',
};

/** The venv directory: $LAKELET_VENV (resolved against the working directory) or <repo>/.venv. */
export function venvDir(): string {
  const override = process.env.LAKELET_VENV;
  return override ? path.resolve(override) : path.join(repoRoot, '.venv');
}

/** Path to the venv's python, if the venv exists. */
export function venvPython(): string | undefined {
  const python = path.join(venvDir(), 'bin', 'python');
  return existsSync(python) ? python : undefined;
}

// One import check per interpreter per process (the venv python is a file path, so the cache key
// also changes when LAKELET_VENV does). Kept on globalThis so that test files re-importing this
// module in the same worker share it.
const CHECK_CACHE_KEY = Symbol.for('lakelet.test.peers.importChecks');
type CheckCache = Map<string, boolean>;
function checkCache(): CheckCache {
  const g = globalThis as unknown as Record<symbol, CheckCache | undefined>;
  return (g[CHECK_CACHE_KEY] ??= new Map());
}

/** True when the venv exists and `import deltalake, pyarrow` succeeds in it (cached). */
export function checkDeltaRs(): boolean {
  const python = venvPython();
  if (python === undefined) return false;
  const cache = checkCache();
  const cached = cache.get(python);
  if (cached !== undefined) return cached;
  const res = spawnSync(python, ['-c', 'import deltalake, pyarrow'], { stdio: 'ignore', timeout: 60_000 });
  const ok = res.status === 0;
  cache.set(python, ok);
  return ok;
}

/** Whether the delta-rs peer can run here: computed once, when this module loads. */
export const deltaRsAvailable: boolean = checkDeltaRs();

function ciIsOn(): boolean {
  const ci = (process.env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * Decide whether tests that need peer `name` run. Available: 'run'. Missing under CI=true: throws,
 * saying what to install and how. Missing locally: 'skip', with a warning on the console.
 */
export function requirePeer(name: string, available: boolean): 'run' | 'skip' {
  if (available) return 'run';
  const what = PEER_INSTALL_HINTS[name] ?? `the ${name} test peer`;
  if (ciIsOn()) {
    throw new Error(
      `Test peer "${name}" is not available and CI=true, where every peer is required. ` +
        `It needs ${what}. Install it from the repository root with: ${SETUP_COMMAND}`,
    );
  }
  console.warn(
    `[lakelet] skipping tests that need the "${name}" peer: it is not installed (needs ${what}). ` +
      `Run \`${SETUP_COMMAND}\` to install it; with CI=true a missing peer is a failure.`,
  );
  return 'skip';
}

/**
 * Run test/peers/deltars_peer.py with `args` and return its parsed JSON output.
 * Rejects with the peer's stderr when it exits non-zero, or when its output is not JSON.
 */
export async function runDeltaRs(args: string[]): Promise<any> {
  const python = venvPython();
  if (python === undefined) {
    throw new Error(
      `delta-rs peer: no Python venv at ${venvDir()}. Install it from the repository root with: ${SETUP_COMMAND}`,
    );
  }
  const { code, signal, stdout, stderr } = await runProcess(python, [deltaRsPeerScript, ...args], { env: { PYTHONDONTWRITEBYTECODE: '1' } });
  const command = `deltars_peer ${args.join(' ')}`;
  if (code !== 0) {
    const how = signal ? `was killed by ${signal}` : `exited ${code}`;
    throw new Error(`${command} ${how}: ${stderr.trim() || '(no stderr)'}`);
  }
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`${command} printed no JSON: ${stdout.slice(0, 500)}${stderr ? `\nstderr: ${stderr.trim()}` : ''}`);
  }
}
