import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lakelet } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const cli = (args: string[], cwd: string) => lakelet(args, { cwd });

describe('lakelet merge', () => {
  it('upserts from a file with --dedup-by, refuses duplicates without it, merges from a Delta table, prints metrics', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'a.csv'), 'id,val,last_modified\n1,a,2024-01-01\n2,b,2024-01-01\n');
      writeFileSync(join(dir, 'b.csv'), 'id,val,last_modified\n2,B,2024-02-01\n2,BB,2024-03-01\n3,c,2024-02-01\n');
      expect((await cli(['write', 't', '--from', 'a.csv'], dir)).code).toBe(0);
      const dup = await cli(['merge', 't', '--from', 'b.csv', '--on', 'id'], dir);
      expect(dup.code).toBe(1);
      expect(dup.stderr.trim().split('\n')).toHaveLength(1);
      expect(dup.stderr).toMatch(/^lakelet: .*matched by 2 source rows.*--dedup-by/);
      const ok = await cli(['merge', 't', '--from', 'b.csv', '--on', 'id', '--dedup-by', 'last_modified', '--json'], dir);
      expect(ok.code).toBe(0);
      const metrics = JSON.parse(ok.stdout);
      expect(metrics).toMatchObject({ version: 1, numTargetRowsInserted: 1, numTargetRowsUpdated: 1, numSourceRowsDeduplicated: 1 });
      // Source = another Delta table; delete target rows the source lacks.
      expect((await cli(['write', 'src', '--from', 'a.csv'], dir)).code).toBe(0);
      const sync = await cli(['merge', 't', '--from', 'src', '--on', 'id', '--when-not-matched-by-source', 'delete', '--json'], dir);
      expect(sync.code).toBe(0);
      expect(JSON.parse(sync.stdout)).toMatchObject({ numTargetRowsUpdated: 2, numTargetRowsDeleted: 1 });
      const rows = await cli(['read', 't', '--format', 'ndjson'], dir);
      expect(rows.stdout.trim().split('\n').map((l) => JSON.parse(l).val).sort()).toEqual(['a', 'b']);
      expect((await cli(['merge', '--help'], dir)).stdout).toContain('--when-not-matched-by-source');
    } finally {
      cleanup();
    }
  });
});
