/**
 * Sizes per scale. Every merge scenario runs against a target of `targetRows` accounts written as
 * `targetFiles` files of equal, non-overlapping key ranges (the target is appended in that many
 * sorted chunks, by each engine, so lakelet and delta-rs get the same file boundaries). Batches
 * have `batchRows` rows; updates come from `hotFraction` of the key space, cut on file boundaries,
 * so an update batch touches exactly that share of the target's files.
 */
export type ScaleName = 'tiny' | 'small' | 'medium' | 'large';

export interface Scale {
  name: ScaleName;
  /** Rows of the merge target (accounts). */
  targetRows: number;
  /** Files of the merge target (targetRows must divide evenly). */
  targetFiles: number;
  /** Rows of each merge batch. */
  batchRows: number;
  /** Share of the target's files an update batch touches. */
  hotFraction: number;
  /** Small-files pipeline: this many CSV files (orders) of `pipelineFileRows` rows. */
  pipelineFiles: number;
  pipelineFileRows: number;
  /** Files per pipeline batch (the pipeline's batch.maxFiles). */
  pipelineMaxFiles: number;
  /** Pipeline latency: this many files of `latencyFileRows` rows, each landing alone. */
  latencyFiles: number;
  latencyFileRows: number;
  /** Snapshot/time travel: a table of this many commits, one small file each. */
  commits: number;
  commitRows: number;
  /** OPTIMIZE: a table of this many small files (one commit each). */
  optimizeFiles: number;
  optimizeFileRows: number;
  /** Repeats per engine and scenario when --repeat is not given. */
  repeat: number;
  /** A run (one engine, one scenario, one repeat) is killed after this long. */
  timeoutMs: number;
}

export const SCALES: Record<ScaleName, Scale> = {
  // Seconds: for the smoke test.
  tiny: {
    name: 'tiny',
    targetRows: 20_000,
    targetFiles: 10,
    batchRows: 2_000,
    hotFraction: 0.1,
    pipelineFiles: 6,
    pipelineFileRows: 100,
    pipelineMaxFiles: 3,
    latencyFiles: 3,
    latencyFileRows: 200,
    commits: 12,
    commitRows: 100,
    optimizeFiles: 12,
    optimizeFileRows: 100,
    repeat: 1,
    timeoutMs: 120_000,
  },
  // The default: the whole suite in under ~10 minutes on 2 cores.
  small: {
    name: 'small',
    targetRows: 1_000_000,
    targetFiles: 40,
    batchRows: 100_000,
    hotFraction: 0.1,
    pipelineFiles: 1_000,
    pipelineFileRows: 1_000,
    pipelineMaxFiles: 100,
    latencyFiles: 50,
    latencyFileRows: 10_000,
    commits: 1_000,
    commitRows: 1_000,
    optimizeFiles: 1_000,
    optimizeFileRows: 1_000,
    repeat: 3,
    timeoutMs: 600_000,
  },
  // The brief's reference sizes: 1M batch into a 10M target, 1,000 small files, 10,000 commits.
  medium: {
    name: 'medium',
    targetRows: 10_000_000,
    targetFiles: 100,
    batchRows: 1_000_000,
    hotFraction: 0.1,
    pipelineFiles: 1_000,
    pipelineFileRows: 1_000,
    pipelineMaxFiles: 100,
    latencyFiles: 50,
    latencyFileRows: 10_000,
    commits: 10_000,
    commitRows: 100,
    optimizeFiles: 1_000,
    optimizeFileRows: 1_000,
    repeat: 3,
    timeoutMs: 1_800_000,
  },
  // Issue 13 point 6: a 100M-row target (~1.3 GB of Parquet in 400 files) and a 1M-row upsert
  // touching 1% of its files. Preparing it takes tens of minutes and ~10 GB of disk.
  large: {
    name: 'large',
    targetRows: 100_000_000,
    targetFiles: 400,
    batchRows: 1_000_000,
    hotFraction: 0.01,
    pipelineFiles: 1_000,
    pipelineFileRows: 1_000,
    pipelineMaxFiles: 100,
    latencyFiles: 50,
    latencyFileRows: 10_000,
    commits: 10_000,
    commitRows: 100,
    optimizeFiles: 1_000,
    optimizeFileRows: 1_000,
    repeat: 1,
    timeoutMs: 7_200_000,
  },
};

export function scaleNamed(name: string): Scale {
  const s = SCALES[name as ScaleName];
  if (!s) throw new Error(`unknown scale '${name}'; choose one of ${Object.keys(SCALES).join(', ')}.`);
  if (s.targetRows % s.targetFiles !== 0) throw new Error(`scale ${name}: targetRows must divide evenly into targetFiles.`);
  return s;
}
