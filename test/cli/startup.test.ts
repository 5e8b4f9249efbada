import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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
    copyFileSync(join(REPO, 'bin', 'lakelet.mjs'), join(root, 'bin', 'lakelet.mjs'));
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
});
