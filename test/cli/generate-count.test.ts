import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/temp.ts';
import { lakelet } from '../support/cli.ts';

/** `lakelet generate --files N` writes N files, the initial load's included (it wrote N + 1). */
let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir('lakelet-generate-count-');
});
afterAll(() => tmp.cleanup());

const written = (dir: string) => readdirSync(join(tmp.dir, dir)).sort();

describe('lakelet generate --files', () => {
  it('writes exactly that many files: with the initial load, split into parts, or without it', async () => {
    const gen = (dir: string, ...extra: string[]) => lakelet(['generate', 'accounts', '--rows', '200', '--out', join(tmp.dir, dir), '--json', ...extra]);
    const three = await gen('a', '--files', '3');
    expect(three.code, three.stderr).toBe(0);
    expect(written('a')).toEqual(['accounts-b0000.csv', 'accounts-b0001.csv', 'accounts-b0002.csv']);
    expect(JSON.parse(three.stdout).files).toHaveLength(3);

    const parts = await gen('b', '--files', '3', '--initial-files', '2');
    expect(parts.code, parts.stderr).toBe(0);
    expect(written('b')).toEqual(['accounts-b0000-p00000.csv', 'accounts-b0000-p00001.csv', 'accounts-b0001.csv']);

    const incremental = await gen('c', '--files', '3', '--no-initial');
    expect(incremental.code, incremental.stderr).toBe(0);
    expect(written('c')).toEqual(['accounts-b0001.csv', 'accounts-b0002.csv', 'accounts-b0003.csv']);

    // Fewer files than the initial load has: refused, saying what --files counts; nothing written.
    const tooFew = await gen('d', '--files', '1', '--initial-files', '2');
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr).toMatch(/--files 1 is fewer than the 2 files of the initial load \(--initial-files 2\); --files counts every file written/);
    expect(() => written('d')).toThrow();
  });
});
