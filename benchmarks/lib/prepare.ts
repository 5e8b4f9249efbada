import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { accounts, generate, generateBatch, orders, type BatchKeySpec } from '../../src/dev/synthetic/index.ts';
import { runInChild, type EngineId } from './engines.ts';
import type { Scale } from './scales.ts';

/**
 * Data preparation: everything made before an engine's timer starts. Generated inputs are shared by
 * all engines; Delta tables each engine merges into are written by that engine (lakelet in this
 * process, delta-rs in a child), from the same Parquet chunks, so both get one file per chunk.
 * Each step runs once per benchmark run (memoised by name).
 */
export interface PrepContext {
  scale: Scale;
  /** Work folder: generated data, table templates, per-run copies. */
  work: string;
  compute: Compute;
  seed: number;
  /** Engines taking part (templates are only built for them). */
  engines: EngineId[];
  log: (line: string) => void;
}

export class Preparer {
  private cache = new Map<string, Promise<unknown>>();
  /** Milliseconds spent per preparation step. */
  readonly timings: Record<string, number> = {};

  constructor(readonly ctx: PrepContext) {}

  private once<T>(name: string, make: () => Promise<T>): Promise<T> {
    let p = this.cache.get(name) as Promise<T> | undefined;
    if (!p) {
      p = (async () => {
        const t0 = Date.now();
        this.ctx.log(`preparing ${name}`);
        const v = await make();
        this.timings[name] = Date.now() - t0;
        return v;
      })();
      this.cache.set(name, p);
    }
    return p;
  }

  get dataDir(): string {
    return join(this.ctx.work, 'data');
  }

  /** The merge target as `targetFiles` sorted Parquet chunks of accounts (keys 1..targetRows). */
  targetChunks(): Promise<string[]> {
    return this.once('target-chunks', async () => {
      const { scale, compute, seed } = this.ctx;
      const dir = join(this.dataDir, 'target');
      mkdirSync(dir, { recursive: true });
      const paths = Array.from({ length: scale.targetFiles }, (_, j) => join(dir, `accounts-target-${String(j).padStart(5, '0')}.parquet`));
      const spec: BatchKeySpec = { seed, batch: 0, rows: scale.targetRows, existing: 0, firstNewId: 1, updates: 0, deletes: 0, skew: 0, hotFraction: 1, hotBlocks: 100, order: 'sorted' };
      await generateBatch(compute, accounts, spec, { format: 'parquet', paths });
      return paths;
    });
  }

  /** One merge batch against the target, as Parquet. */
  batchFile(name: string, spec: Omit<BatchKeySpec, 'seed' | 'existing' | 'firstNewId' | 'hotBlocks' | 'skew'>, opColumn = false): Promise<string> {
    return this.once(`batch ${name}`, async () => {
      const { scale, compute, seed } = this.ctx;
      const dir = join(this.dataDir, 'batches');
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `${name}.parquet`);
      // hotBlocks = targetFiles: the hot blocks are exactly the key ranges of target files.
      const full: BatchKeySpec = { ...spec, seed, existing: scale.targetRows, firstNewId: scale.targetRows + 1, hotBlocks: scale.targetFiles, skew: 0 };
      await generateBatch(compute, accounts, full, { format: 'parquet', paths: [path], opColumn });
      return path;
    });
  }

  /**
   * The target as a Delta table written by `engine`: an empty create commit (version 0), then one
   * append per chunk. With `deletionVectors` (lakelet only) the table is created with
   * delta.enableDeletionVectors=true.
   *
   * Why the create commit: with `targetFiles` appends alone (versions 0 … targetFiles − 1) every
   * measured merge committed version 40 or 100, a multiple of the checkpoint interval, so it paid
   * for a checkpoint in every run, which a merge does once in 10 commits (lakelet) or 100
   * (delta-rs). With it, the merge commits version targetFiles + 1, an ordinary commit for both.
   */
  targetTemplate(engine: 'lakelet' | 'deltars', deletionVectors = false): Promise<{ dir: string; files: number }> {
    const dv = deletionVectors && engine === 'lakelet';
    return this.once(`target table (${engine}${dv ? ', deletion vectors' : ''})`, async () => {
      const chunks = await this.targetChunks();
      const dir = join(this.ctx.work, 'templates', `target-${engine}${dv ? '-dv' : ''}`);
      rmSync(dir, { recursive: true, force: true });
      if (engine === 'lakelet') {
        const table = await DeltaTable.forPath(dir, { compute: this.ctx.compute });
        const create = table.write({ sql: `SELECT * FROM read_parquet(${sqlString(chunks[0])}) LIMIT 0` });
        if (dv) create.properties({ 'delta.enableDeletionVectors': 'true' });
        await create.execute();
        for (const f of chunks) await table.write({ file: f }).execute();
        return { dir, files: (await table.snapshot()).files.length };
      }
      const out = await runInChild('deltars', { op: 'append', sources: chunks, table: dir }, this.scratch(), this.ctx.scale.timeoutMs);
      if (!out.result) throw new Error(`delta-rs could not write the target template: ${out.error}`);
      return { dir, files: Number(out.result.files) };
    });
  }

  /**
   * A table of `commits` commits, each appending one file of `rows` accounts, written by lakelet
   * (checkpoints every 10 commits). Shared by the snapshot, time travel and OPTIMIZE scenarios;
   * delta-rs reads (or compacts a copy of) the same table, so both see the same log.
   */
  manyCommitsTable(commits: number, rows: number): Promise<{ dir: string; files: string[] }> {
    return this.once(`table of ${commits} commits × ${rows} rows`, async () => {
      const { compute, seed } = this.ctx;
      const dir = join(this.ctx.work, 'templates', `commits-${commits}x${rows}`);
      // A kept --work folder reuses a finished table (10,000 commits take many minutes to write):
      // the marker is written only once the last commit is in. Delete it to rebuild with new code.
      const done = `${dir}.complete`;
      if (existsSync(done)) {
        this.ctx.log(`reusing ${dir} (delete ${done} to rebuild it)`);
        const snapshot = await (await DeltaTable.forPath(dir, { compute })).snapshot();
        return { dir, files: snapshot.files.map((f) => join(dir, decodeURIComponent(f.path))) };
      }
      rmSync(dir, { recursive: true, force: true });
      const table = await DeltaTable.forPath(dir, { compute });
      const columns = accounts.select({ seed, batch: 0, id: 'id', op: "'I'" }).join(', ');
      for (let c = 0; c < commits; c++) {
        await table.write({ sql: `SELECT ${columns} FROM range(${c * rows + 1}, ${(c + 1) * rows + 1}) r(id)` }).execute();
      }
      const snapshot = await table.snapshot();
      writeFileSync(done, `${snapshot.version}\n`);
      return { dir, files: snapshot.files.map((f) => join(dir, decodeURIComponent(f.path))) };
    });
  }

  /**
   * Landed files for the small-files pipeline: orders (seed 002) as CSV, the first an initial
   * load, each later one half status updates of earlier parcels and half new ones.
   */
  pipelineFiles(kind: 'small-files' | 'latency' = 'small-files'): Promise<{ dir: string; files: string[]; rows: number }> {
    return this.once(`pipeline landing files (${kind})`, async () => {
      const { scale, compute, seed } = this.ctx;
      const [count, fileRows] = kind === 'latency' ? [scale.latencyFiles, scale.latencyFileRows] : [scale.pipelineFiles, scale.pipelineFileRows];
      const dir = join(this.dataDir, kind === 'latency' ? 'latency-landing' : 'pipeline-landing');
      rmSync(dir, { recursive: true, force: true });
      const r = await generate(compute, {
        dataset: orders,
        rows: fileRows,
        batches: count - 1,
        batchRows: fileRows,
        updatesFraction: 0.5,
        format: 'csv',
        seed,
        out: dir,
      });
      return { dir, files: r.files.map((f) => f.path), rows: r.rows };
    });
  }

  scratch(): string {
    const dir = join(this.ctx.work, 'scratch');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A fresh folder for one run (removed first). */
  runDir(scenario: string, engine: EngineId, repeat: number): string {
    const dir = join(this.ctx.work, 'runs', scenario, `${engine}-${repeat}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}

/** Copies a table folder (a run's private copy of a template). */
export function copyTable(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}

/** Copies landed files into `to`, in arrival order, with strictly increasing mtimes. */
export function copyLanded(files: string[], to: string): void {
  mkdirSync(to, { recursive: true });
  const base = Date.now() / 1000 - files.length - 10;
  files.forEach((f, i) => {
    const dest = join(to, f.split('/').pop()!);
    cpSync(f, dest);
    utimesSync(dest, base + i, base + i);
  });
}

export function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

export function dataFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.parquet')).map((n) => join(dir, n));
}
