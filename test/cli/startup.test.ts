import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { lakeletOk } from '../support/cli.ts';
import { REPO, runProcess } from '../support/process.ts';
import { tempDir } from '../support/temp.ts';

/**
 * How `lakelet` starts: the compiled dist/ when it is current, tsx when src/ is newer, and no
 * DuckDB for --version/--help. Whether DuckDB's native client was loaded is read from the child
 * itself (a --require hook that writes require.cache's DuckDB entries at exit), not from timings.
 */
let work: { dir: string; cleanup: () => void };
/** The bin's files, copied into stand-in checkouts. */
const BIN_FILES = ['lakelet.mjs', 'lakelet.cjs', 'read-fast-loader.cjs'];
let hook: string;

beforeAll(() => {
  work = tempDir('lakelet-startup-');
  hook = join(work.dir, 'loaded-hook.cjs');
  writeFileSync(
    hook,
    `process.on('exit', () => {
  const loaded = Object.keys(require.cache).filter((k) => k.includes('@duckdb') || k.endsWith('read-fast.cjs'));
  require('fs').writeFileSync(process.env.LOADED_OUT, JSON.stringify(loaded));
});\n`,
  );
});
afterAll(() => work.cleanup());

/** Runs the real bin with the hook and returns the DuckDB modules (and the direct read bundle) the process loaded. */
async function duckdbModulesLoadedBy(args: string[], name: string): Promise<string[]> {
  const out = join(work.dir, `${name}.json`);
  await lakeletOk(args, { env: { NODE_OPTIONS: `--require ${hook}`, LOADED_OUT: out } });
  return JSON.parse(readFileSync(out, 'utf8')) as string[];
}

describe('lakelet start-up', () => {
  it('loads no DuckDB for --version, --help and a plain read, and does for a read that needs SQL', async () => {
    const csv = join(work.dir, 'rows.csv');
    writeFileSync(csv, 'id,name\n1,a\n2,b\n');
    await lakeletOk(['write', join(work.dir, 't'), '--from', csv]);
    const [version, help, commandHelp, read, filtered] = await Promise.all([
      duckdbModulesLoadedBy(['--version'], 'version'),
      duckdbModulesLoadedBy(['--help'], 'help'),
      duckdbModulesLoadedBy(['read', '--help'], 'read-help'),
      // A plain read of a small local table is decoded directly (cli/commands/read-direct.ts).
      duckdbModulesLoadedBy(['read', join(work.dir, 't')], 'read'),
      duckdbModulesLoadedBy(['read', join(work.dir, 't'), '--where', 'id > 1'], 'read-where'),
    ]);
    expect(version).toEqual([]);
    expect(help).toEqual([]);
    expect(commandHelp.filter((k) => k.includes('@duckdb'))).toEqual([]);
    // The plain read ran as the one CommonJS file (dist/read-fast.cjs), without DuckDB.
    expect(read).toEqual([join(REPO, 'dist', 'read-fast.cjs')]);
    // The check can fail: a command that queries does load the native client.
    expect(filtered.some((k) => k.includes('node-bindings'))).toBe(true);
  });

  it('runs dist/ while it is newer than src/, and the TypeScript sources once src/ changed', async () => {
    // A stand-in checkout: the real bin, a dist/ and a src/ whose main() each say which one ran.
    const root = join(work.dir, 'checkout');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    for (const f of BIN_FILES) copyFileSync(join(REPO, 'bin', f), join(root, 'bin', f));
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), "export async function main() { process.stdout.write('dist\\n'); }\n");
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), "export async function main(): Promise<void> { process.stdout.write('src\\n'); }\n");
    const source = join(root, 'src', 'cli', 'main.ts');
    const stamp = join(root, 'dist', 'build-stamp.json');
    const run = async () => (await runProcess(process.execPath, [join(root, 'bin', 'lakelet.mjs')], { cwd: root })).stdout.trim();

    // No build yet (a fresh clone before `npm install`): the sources.
    expect(await run()).toBe('src');
    // Built after the last edit: dist/.
    utimesSync(source, new Date(1_000_000), new Date(1_000_000));
    writeFileSync(stamp, JSON.stringify({ builtFrom: 2_000_000 }));
    expect(await run()).toBe('dist');
    // A file edited after the build: the sources again, until the next build.
    utimesSync(source, new Date(3_000_000), new Date(3_000_000));
    expect(await run()).toBe('src');
    rmSync(stamp);
  });

  it('runs dist/read-fast.cjs for a read while the files it was built from are older than the build, whatever else in src/ changed', async () => {
    // A stand-in checkout whose direct read path says it ran; the stamp names its one source.
    const root = join(work.dir, 'checkout-read');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'src', 'cli', 'commands'), { recursive: true });
    for (const f of BIN_FILES) copyFileSync(join(REPO, 'bin', f), join(root, 'bin', f));
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(root, 'dist', 'read-fast.cjs'), "exports.readFast = async () => { process.stdout.write('fast\\n'); return true; };\n");
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), "export async function main() { process.stdout.write('dist\\n'); }\n");
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), "export async function main(): Promise<void> { process.stdout.write('src\\n'); }\n");
    const fastSource = join(root, 'src', 'cli', 'commands', 'read-fast.ts');
    writeFileSync(fastSource, '// stand-in\n');
    writeFileSync(join(root, 'dist', 'build-stamp.json'), JSON.stringify({ builtFrom: 2_000_000, readFastSources: ['src/cli/commands/read-fast.ts'] }));
    const run = async (args: string[]) => (await runProcess(process.execPath, [join(root, 'bin', 'lakelet.cjs'), ...args], { cwd: root })).stdout.trim();
    const at = (file: string, ms: number) => utimesSync(file, new Date(ms), new Date(ms));

    at(fastSource, 1_000_000);
    at(join(root, 'src', 'cli', 'main.ts'), 1_000_000);
    expect(await run(['read', 't'])).toBe('fast');
    // A stamp that lists no source vouches for nothing: the full CLI (dist/, as src/ is older).
    const stampPath = join(root, 'dist', 'build-stamp.json');
    const stampText = readFileSync(stampPath, 'utf8');
    writeFileSync(stampPath, JSON.stringify({ builtFrom: 2_000_000, readFastSources: [] }));
    expect(await run(['read', 't'])).toBe('dist');
    writeFileSync(stampPath, stampText);
    // Another file edited: a read still runs the bundle (its sources did not change), the rest tsx.
    at(join(root, 'src', 'cli', 'main.ts'), 3_000_000);
    expect(await run(['read', 't'])).toBe('fast');
    expect(await run(['--version'])).toBe('src');
    // One of the bundle's sources edited, or gone: tsx for the read too.
    at(fastSource, 3_000_000);
    expect(await run(['read', 't'])).toBe('src');
    rmSync(fastSource);
    expect(await run(['read', 't'])).toBe('src');
    // A folder on a source's path replaced by a file (ENOTDIR, not ENOENT): tsx too, no crash.
    rmSync(join(root, 'src', 'cli', 'commands'), { recursive: true });
    writeFileSync(join(root, 'src', 'cli', 'commands'), '');
    expect(await run(['read', 't'])).toBe('src');
  });
});

describe("lakelet read's code cache", () => {
  it('is written after a read, again after the first direct read if that one declined, used by the next, and a damaged, stale or unwritable cache is ignored', async () => {
    // A shipped copy (no src/): the real dist/ and bin, and a real one-file table.
    const root = join(work.dir, 'shipped');
    mkdirSync(join(root, 'bin'), { recursive: true });
    for (const f of BIN_FILES) copyFileSync(join(REPO, 'bin', f), join(root, 'bin', f));
    cpSync(join(REPO, 'dist'), join(root, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.cache') });
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    copyFileSync(join(REPO, 'package.json'), join(root, 'package.json'));
    const csv = join(work.dir, 'cache-rows.csv');
    writeFileSync(csv, 'id,name,at\n1,a,2024-01-02\n2,b,2024-03-04\n');
    const table = join(work.dir, 'cache-t');
    await lakeletOk(['write', table, '--from', csv]);
    const cache = join(root, 'dist', 'read-fast.cjs.cache');
    const run = (extra: string[]) => runProcess(process.execPath, [join(root, 'bin', 'lakelet.cjs'), 'read', table, '--format', 'csv', ...extra], { cwd: root, env: { LAKELET_TRACE_READ: '1', LAKELET_TRACE_CODE_CACHE: '1' } });
    const cacheTrace = (stderr: string) => [...stderr.matchAll(/lakelet: code cache: ([^\n(]+)/g)].map((m) => m[1].trim());
    const read = async () => {
      const r = await run([]);
      expect(r.code).toBe(0);
      // The direct path ran (not DuckDB), so the bundle's code is what printed the rows.
      expect(r.stderr).toMatch(/lakelet: read: direct/i);
      return { stdout: r.stdout, cache: cacheTrace(r.stderr) };
    };

    // A read the bundle declines (--where needs SQL) writes a cache of the little it compiled ...
    const declined = await run(['--where', 'id > 1']);
    expect(declined.code).toBe(0);
    expect(declined.stdout).toBe('id,name,at\n2,b,2024-03-04\n');
    expect(cacheTrace(declined.stderr)).toEqual(['absent', 'written']);
    const small = readFileSync(cache).length;
    // ... which the first direct read uses and then writes again, with what the read compiled.
    const first = await read();
    expect(first.stdout).toBe('id,name,at\n1,a,2024-01-02\n2,b,2024-03-04\n');
    expect(first.cache).toEqual(['used', 'written']);
    expect(readFileSync(cache).length).toBeGreaterThan(small);
    expect(readFileSync(cache).length).toBeGreaterThan(1000);
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['used'] });

    // Damaged after its header: V8 would run damaged bytecode (a crash), so the payload's CRC-32 keeps it out.
    const good = readFileSync(cache);
    const headerEnd = good.indexOf(10) + 1;
    const flipped = Buffer.from(good);
    flipped.writeUInt32LE(0x55aa55aa, headerEnd + 1000);
    writeFileSync(cache, flipped);
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['damaged: ignored', 'written'] });
    // Cut short.
    writeFileSync(cache, good.subarray(0, headerEnd + 200));
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['damaged: ignored', 'written'] });
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['used'] });
    // A whole payload that V8 itself turns down (its checksum right): written anew.
    const junk = Buffer.alloc(good.length - headerEnd, 7);
    const header = good.subarray(0, headerEnd).toString('utf8').replace(/ \d+\n$/, ` ${crc32(junk)}\n`);
    writeFileSync(cache, Buffer.concat([Buffer.from(header), junk]));
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['rejected by V8', 'written'] });
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['used'] });

    // Made for another bundle: the bundle's bytes changed, its size and mtime kept (a copy that keeps
    // mtimes). The cache is not even handed to V8, which would run the old bytecode; the new text prints.
    const bundle = join(root, 'dist', 'read-fast.cjs');
    const { mtime } = statSync(bundle);
    writeFileSync(bundle, readFileSync(bundle, 'utf8').replace('direct (started at', 'DIRECT (started at'));
    utimesSync(bundle, mtime, mtime);
    const changed = await run([]);
    expect(changed.stdout).toBe(first.stdout);
    expect(changed.stderr).toContain('lakelet: read: DIRECT');
    expect(cacheTrace(changed.stderr)).toEqual(['of another bundle or Node: ignored', 'written']);
    expect(cacheTrace((await run([])).stderr)).toEqual(['used']);

    // Cannot be written (a directory in its place; a read-only dist/ cannot be had as root): the read is unchanged.
    rmSync(cache);
    mkdirSync(join(cache, 'x'), { recursive: true });
    expect(await read()).toEqual({ stdout: first.stdout, cache: ['absent', 'not written'] });
    expect(readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
