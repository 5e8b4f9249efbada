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

  it('--delete-when applies delete markers and --update-when keeps newer rows; a re-sent file then commits nothing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'a.csv'), 'id,val,last_modified,op\n1,a,2024-01-01,\n2,b,2024-01-01,\n3,c,2024-01-05,\n');
      // 1 newer, 2 a delete marker, 3 older than the table's (kept as is), 4 new, 5 a marker for a key
      // the table lacks (not inserted), 6 new with no op (NULL: an ordinary row).
      const changes = 'id,val,last_modified,op\n1,A,2024-02-01,U\n2,,2024-02-01,D\n3,old,2024-01-02,U\n4,d,2024-02-01,I\n5,,2024-02-01,D\n6,f,2024-02-01,\n';
      writeFileSync(join(dir, 'changes.csv'), changes);
      expect((await cli(['write', 't', '--from', 'a.csv'], dir)).code).toBe(0);
      const args = ['merge', 't', '--from', 'changes.csv', '--on', 'id', '--delete-when', "s.op = 'D'", '--update-when', 's.last_modified > t.last_modified'];
      const first = await cli([...args, '--json'], dir);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ version: 1, numTargetRowsInserted: 2, numTargetRowsUpdated: 1, numTargetRowsDeleted: 1 });
      const rows = await cli(['read', 't', '--format', 'ndjson'], dir);
      expect(rows.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((r) => `${r.id}:${r.val}`).sort()).toEqual(['1:A', '3:c', '4:d', '6:f']);
      // The same file again: no row is newer, no marker finds its key, so nothing is written or committed.
      const again = await cli(args, dir);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^nothing to commit, \S+ stays at version 1: 0 rows inserted, 0 updated, 0 deleted/);
      const history = await cli(['history', 't', '--json'], dir);
      expect(JSON.parse(history.stdout)).toHaveLength(2);
      const contradiction = await cli(['merge', 't', '--from', 'changes.csv', '--on', 'id', '--delete-when', "s.op = 'D'", '--when-matched', 'delete'], dir);
      expect(contradiction.code).toBe(2);
      expect(contradiction.stderr).toMatch(/--delete-when and --when-matched delete contradict each other/);
    } finally {
      cleanup();
    }
  });
});
