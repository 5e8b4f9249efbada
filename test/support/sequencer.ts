import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest files first, so that a project's last minutes are not one long file running alone
 * while the other workers are idle. vitest does this by itself from the durations it cached in an
 * earlier run; a fresh clone (CI) has none, and vitest then runs the largest files first, which
 * put conformance/golden.test.ts, crash-matrix.test.ts and notebooks.test.ts among the last files
 * of their projects although each takes far longer than its size says. Without a cached duration
 * a file's estimate here is its entry in KNOWN_LONG (seconds, from a full run's JSON report), else
 * its size at 0.1 s per KB (below every entry: the listed files go first, the rest largest first,
 * as vitest orders them). A stale entry only changes the order.
 */
const KNOWN_LONG: Record<string, number> = {
  'test/engine/ops/merge/oracle.test.ts': 60,
  'test/pipeline/gcs-pipeline.test.ts': 45,
  'test/pipeline/sync-postgres.test.ts': 35,
  'test/pipeline/bigquery-pipeline.test.ts': 35,
  'test/cli/read-direct.test.ts': 25,
  'test/cli/cli-gcs.test.ts': 25,
  'test/pipeline/bigquery-schema.test.ts': 20,
  'test/pipeline/crash-matrix.test.ts': 20,
  'test/cli/pipeline.test.ts': 20,
  'test/cli/demo-gcp.test.ts': 18,
  'test/cli/profiles.test.ts': 17,
  'test/pipeline/notebooks.test.ts': 13,
  'test/cli/watch.test.ts': 12,
  'test/conformance/golden.test.ts': 14,
  'test/engine/delta/skipping.test.ts': 5,
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const cache = this.ctx.cache;
    const info = new Map(
      files.map((spec) => {
        const file = relative(root, spec.moduleId);
        const key = `${spec.project.name}:${file}`;
        const cached = cache.getFileTestResults(key);
        const size = cache.getFileStats(key)?.size ?? 0;
        const estimateMs = cached?.duration ?? (KNOWN_LONG[file] !== undefined ? KNOWN_LONG[file] * 1000 : size / 10);
        return [spec, { failed: cached?.failed === true, estimateMs }];
      }),
    );
    const sorted = [...files].sort((a, b) => {
      // Projects in their group order (vitest.config.ts: unit, then process), as vitest's own sort.
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0) return group;
      if (a.project.name !== b.project.name) return a.project.name < b.project.name ? -1 : 1;
      const ia = info.get(a)!;
      const ib = info.get(b)!;
      // What failed last time first (vitest's rule), then the longest.
      if (ia.failed !== ib.failed) return ia.failed ? -1 : 1;
      return ib.estimateMs - ia.estimateMs;
    });
    return sorted;
  }
}
