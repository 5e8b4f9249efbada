import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ObjectStore } from '../../../src/adapters/storage/object-store.ts';
import { makeStagingFolder, removeStagingFolder } from '../../../src/engine/delta/write-leftovers.ts';
import { tempDir } from '../../support/temp.ts';

/**
 * Writers of one table share `.lakelet-staging/`: each makes its own folder in it and, when done,
 * removes the parent if that left it empty. A `mkdir -p` meeting another writer's removal of the
 * parent failed (ENOTDIR or ENOENT: a merge of the concurrency test died of it); it is made again.
 */
const { dir, cleanup } = tempDir('lakelet-staging-');
afterAll(cleanup);

describe('staging folders of concurrent writers', () => {
  it('eight writers making and removing their folders at once: every folder is made, none is left', async () => {
    const store = { localPath: (key: string) => join(dir, key) } as unknown as ObjectStore;
    let made = 0;
    // Without the retry, plain mkdir -p failed 3–14 times in 2,400 such cycles here, and this test
    // (8,000 cycles) failed 4 runs of 4.
    await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        for (let i = 0; i < 1000; i++) {
          const folder = await makeStagingFolder(store, `w${writer}-${i}`);
          expect(existsSync(folder)).toBe(true);
          made++;
          await removeStagingFolder(folder);
        }
      }),
    );
    expect(made).toBe(8000);
    expect(existsSync(join(dir, '.lakelet-staging'))).toBe(false);
  });
});
