import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { accounts } from '../../src/dev/synthetic/index.ts';
import { REPO_ROOT, venvPython, type EngineId } from './engines.ts';
import { copyLanded, copyTable, type Preparer } from './prepare.ts';
import type { ColumnType, MergeKind, Task } from './tasks.ts';

/** One engine's part of one run: the task, and the folders whose new bytes count as written. */
export interface RunSetup {
  task: Task;
  outputs: string[];
}

export interface PreparedScenario {
  /** Rows (or commits) one run processes: the numerator of rows/s. */
  units: number;
  params: Record<string, unknown>;
  /** Per-engine facts about the prepared data (e.g. the target's file count). */
  layout: Partial<Record<EngineId, Record<string, unknown>>>;
  setup(engine: EngineId, repeat: number): Promise<RunSetup>;
}

export interface Scenario {
  id: string;
  title: string;
  description: string;
  unit: 'rows' | 'commits';
  /** Engines that cannot take part, with the reason shown in the report. */
  notApplicable?: Partial<Record<EngineId, string>>;
  /** Why the whole scenario cannot run in this checkout (a missing engine feature). */
  unavailable?(): string | undefined;
  prepare(p: Preparer): Promise<PreparedScenario>;
}

const KEY = accounts.key;
const COLUMNS = [...accounts.columns];
const NO_DELTA_IN_DUCKDB = 'DuckDB reads no Delta log offline (its delta extension is not bundled), so there is no native equivalent';

type BatchShape = (rows: number) => { batch: number; updates: number; deletes: number; order: 'sorted' | 'unsorted'; opColumn?: boolean; file?: string };

/**
 * A MERGE of one generated batch into the target, the same for each engine. With `deletionVectors`
 * lakelet's target has delta.enableDeletionVectors=true (matched rows are marked, not rewritten);
 * DuckDB (in memory) and delta-rs (which cannot write DVs: copy-on-write) run the same merge as
 * in the plain scenario, so the rows line up side by side.
 */
function mergeScenario(id: string, title: string, description: string, kind: MergeKind, batch: BatchShape, deletionVectors = false): Scenario {
  return {
    id,
    title,
    description,
    unit: 'rows',
    async prepare(p) {
      const { scale } = p.ctx;
      const b = batch(scale.batchRows);
      const source = await p.batchFile(b.file ?? id, { batch: b.batch, rows: scale.batchRows, updates: b.updates, deletes: b.deletes, hotFraction: scale.hotFraction, order: b.order }, b.opColumn ?? false);
      const chunks = await p.targetChunks();
      const layout: PreparedScenario['layout'] = {};
      for (const engine of p.ctx.engines) {
        if (engine === 'lakelet' || engine === 'deltars') layout[engine] = { targetFiles: (await p.targetTemplate(engine, deletionVectors)).files };
      }
      return {
        units: scale.batchRows,
        params: {
          targetRows: scale.targetRows,
          targetFiles: scale.targetFiles,
          batchRows: scale.batchRows,
          updates: b.updates,
          deletes: b.deletes,
          inserts: scale.batchRows - b.updates - b.deletes,
          sourceOrder: b.order,
          mergeKind: kind,
          hotFraction: b.updates + b.deletes > 0 ? scale.hotFraction : 0,
          ...(deletionVectors ? { lakeletDeletionVectors: true } : {}),
        },
        layout,
        async setup(engine, repeat) {
          if (engine === 'duckdb') return { task: { op: 'merge', table: '', source, key: KEY, kind, columns: COLUMNS, targetSources: chunks }, outputs: [] };
          const dir = join(p.runDir(id, engine, repeat), 'target');
          copyTable((await p.targetTemplate(engine as 'lakelet' | 'deltars', deletionVectors)).dir, dir);
          return { task: { op: 'merge', table: dir, source, key: KEY, kind, columns: COLUMNS }, outputs: [dir] };
        },
      };
    },
  };
}

const ORDERS_COLUMNS: ColumnType[] = [
  { name: 'tracking_num', duckdb: 'VARCHAR', arrow: 'string' },
  { name: 'order_id', duckdb: 'VARCHAR', arrow: 'string' },
  { name: 'customer_id', duckdb: 'BIGINT', arrow: 'int64' },
  { name: 'status', duckdb: 'VARCHAR', arrow: 'string' },
  { name: 'carrier', duckdb: 'VARCHAR', arrow: 'string' },
  { name: 'origin', duckdb: 'VARCHAR', arrow: 'string' },
  { name: 'destination', duckdb: 'VARCHAR', arrow: 'string' },
  { name: 'shipped_at', duckdb: 'TIMESTAMPTZ', arrow: 'timestamp' },
  { name: 'delivered_at', duckdb: 'TIMESTAMPTZ', arrow: 'timestamp' },
  { name: 'updated_at', duckdb: 'TIMESTAMPTZ', arrow: 'timestamp' },
  { name: 'amount', duckdb: 'DECIMAL(10,2)', arrow: 'decimal(10,2)' },
];

function pipelineYaml(maxFiles: number, deletionVectors = false): string {
  const casts = ORDERS_COLUMNS.filter((c) => c.duckdb !== 'VARCHAR')
    .map((c) => `      ${c.name}: { cast: "${c.duckdb}" }`)
    .join('\n');
  return `# written by benchmarks/lib/scenarios.ts: seed 002's file-arrival pipeline (stage → archive → upsert)
stateDir: ./state
pipelines:
  orders:
    landing: ./landing
    pattern: "*.csv"
    format: csv
    csv: { delimiter: ",", header: true }
    stage: ./stage
    target: ${deletionVectors ? '{ path: ./target, properties: { delta.enableDeletionVectors: "true" } }' : './target'}
    key: tracking_num
    orderBy: updated_at
    transforms:
${casts}
    archive: ./archive
    quarantine: ./quarantine
    batch: { maxFiles: ${maxFiles}, maxBytes: 1GB }
`;
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'initial-load',
    title: 'Initial bulk load',
    description: 'Write the whole target (accounts, sorted by key) from its Parquet chunks as a new table; DuckDB: CREATE TABLE AS in memory.',
    unit: 'rows',
    async prepare(p) {
      const { scale } = p.ctx;
      const sources = await p.targetChunks();
      return {
        units: scale.targetRows,
        params: { rows: scale.targetRows, inputFiles: sources.length },
        layout: {},
        async setup(engine, repeat) {
          const dir = join(p.runDir('initial-load', engine, repeat), 'table');
          return { task: { op: 'load', sources, table: dir }, outputs: engine === 'duckdb' ? [] : [dir] };
        },
      };
    },
  },
  mergeScenario(
    'upsert',
    'Incremental upsert',
    'MERGE a batch of half updates (touching the hot share of the target files) and half new keys, sorted by key: WHEN MATCHED UPDATE, WHEN NOT MATCHED INSERT.',
    'upsert',
    (rows) => ({ batch: 1, updates: Math.round(rows / 2), deletes: 0, order: 'sorted' }),
  ),
  mergeScenario('insert-only', 'Insert-only merge', 'MERGE a batch of new keys only (above every key in the target): nothing matches.', 'upsert', () => ({
    batch: 2,
    updates: 0,
    deletes: 0,
    order: 'sorted',
  })),
  mergeScenario(
    'update-only',
    'Update-only merge',
    'MERGE a batch that updates existing keys only: every row of the hot share of the target files changes.',
    'upsert',
    (rows) => ({ batch: 3, updates: rows, deletes: 0, order: 'sorted' }),
  ),
  mergeScenario(
    'delete-heavy',
    'Delete-heavy merge',
    "MERGE a batch of 80% deletes and 20% updates of existing keys (op column): WHEN MATCHED AND op = 'D' DELETE, WHEN MATCHED UPDATE, WHEN NOT MATCHED AND op <> 'D' INSERT.",
    'upsert-delete',
    (rows) => ({ batch: 4, updates: rows - Math.round(rows * 0.8), deletes: Math.round(rows * 0.8), order: 'sorted', opColumn: true }),
  ),
  mergeScenario(
    'no-change-merge',
    'No-change merge',
    'MERGE a batch of existing rows re-sent unchanged, with WHEN MATCHED AND s.last_modified > t.last_modified UPDATE: no row qualifies, so ideally nothing is rewritten.',
    'upsert-if-newer',
    (rows) => ({ batch: 0, updates: rows, deletes: 0, order: 'sorted' }),
  ),
  mergeScenario(
    'unsorted-merge',
    'Upsert with unsorted source keys',
    'The incremental upsert batch (same keys and values) in shuffled key order.',
    'upsert',
    (rows) => ({ batch: 1, updates: Math.round(rows / 2), deletes: 0, order: 'unsorted', file: 'upsert-unsorted' }),
  ),
  ...dvVariants(),
  pipelineScenario('small-files'),
  pipelineScenario('small-files', true),
  pipelineScenario('latency'),
  {
    id: 'cli-start',
    title: 'CLI: read a one-file table, whole process',
    description:
      "`lakelet read <table> --format csv` (the compiled CLI, dist/) against the DuckDB CLI (PyPI duckdb-cli in the peers venv) printing the same Parquet file as CSV: both whole processes, start-up and exit included, after one unmeasured run. lakelet's metrics add `lakelet --version` (versionMs) and `node -e 0` (nodeMs), timed the same way. Peak RSS is the harness process's, not the command's.",
    unit: 'rows',
    notApplicable: { deltars: 'delta-rs has no command line (its Python package is a library)' },
    async prepare(p) {
      const { scale } = p.ctx;
      // The bin runs dist/ only while it is newer than src/: build it, so what is timed is what users run.
      const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--quiet'], { encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`scripts/build.mjs failed: ${build.stderr}`);
      const t = await p.manyCommitsTable(1, scale.commitRows);
      const bin = join(REPO_ROOT, 'bin', 'lakelet.cjs');
      const duckdbCli = join(dirname(venvPython() ?? join(REPO_ROOT, '.venv', 'bin', 'python')), 'duckdb');
      return {
        units: scale.commitRows,
        params: { rows: scale.commitRows, files: t.files.length, format: 'csv' },
        layout: {},
        async setup(engine) {
          if (engine === 'duckdb') {
            if (!existsSync(duckdbCli)) throw new Error(`no DuckDB CLI at ${duckdbCli} (bash scripts/setup-peers.sh installs duckdb-cli)`);
            return { task: { op: 'process', argv: [duckdbCli, '-csv', '-c', `SELECT * FROM read_parquet(${sqlString(t.files[0])})`] }, outputs: [] };
          }
          return {
            task: {
              op: 'process',
              argv: [process.execPath, bin, 'read', t.dir, '--format', 'csv'],
              extra: { version: [process.execPath, bin, '--version'], node: [process.execPath, '-e', '0'] },
            },
            outputs: [],
          };
        },
      };
    },
  },
  {
    id: 'snapshot-open',
    title: 'Open the latest snapshot',
    description: 'Load the latest snapshot of a table with many commits (checkpoint every 10 commits, written by lakelet) and list its files.',
    unit: 'commits',
    notApplicable: { duckdb: NO_DELTA_IN_DUCKDB },
    async prepare(p) {
      const { scale } = p.ctx;
      const t = await p.manyCommitsTable(scale.commits, scale.commitRows);
      return {
        units: scale.commits,
        params: { commits: scale.commits, files: t.files.length },
        layout: {},
        async setup() {
          return { task: { op: 'snapshot', table: t.dir }, outputs: [] };
        },
      };
    },
  },
  {
    id: 'time-travel',
    title: 'Time travel',
    description: 'Load the snapshot at the middle version of the same table (replay from the nearest checkpoint) and list its files.',
    unit: 'commits',
    notApplicable: { duckdb: NO_DELTA_IN_DUCKDB },
    async prepare(p) {
      const { scale } = p.ctx;
      const t = await p.manyCommitsTable(scale.commits, scale.commitRows);
      const version = Math.floor(scale.commits / 2);
      return {
        units: version + 1,
        params: { commits: scale.commits, version },
        layout: {},
        async setup() {
          return { task: { op: 'snapshot', table: t.dir, version }, outputs: [] };
        },
      };
    },
  },
  {
    id: 'optimize',
    title: 'OPTIMIZE small files',
    description: 'Compact a table of many small files (one commit each) into files of up to 128 MiB. DuckDB: read the same Parquet files and write one.',
    unit: 'rows',
    unavailable: () => (existsSync(join(REPO_ROOT, 'src', 'engine', 'ops', 'optimize.ts')) ? undefined : 'OPTIMIZE (src/engine/ops/optimize.ts) has not landed yet'),
    async prepare(p) {
      const { scale } = p.ctx;
      const t = await p.manyCommitsTable(scale.optimizeFiles, scale.optimizeFileRows);
      const targetSize = 128 * 1024 * 1024;
      return {
        units: scale.optimizeFiles * scale.optimizeFileRows,
        params: { files: scale.optimizeFiles, rowsPerFile: scale.optimizeFileRows, targetSize },
        layout: {},
        async setup(engine, repeat) {
          const dir = p.runDir('optimize', engine, repeat);
          if (engine === 'duckdb') {
            const output = join(dir, 'compacted.parquet');
            return { task: { op: 'optimize', table: '', targetSize, files: t.files, output }, outputs: [dir] };
          }
          copyTable(t.dir, join(dir, 'table'));
          return { task: { op: 'optimize', table: join(dir, 'table'), targetSize }, outputs: [join(dir, 'table')] };
        },
      };
    },
  },
];

/** The merge scenarios whose matched rows change, again with lakelet writing deletion vectors. */
function dvVariants(): Scenario[] {
  const note = ' lakelet: the target has delta.enableDeletionVectors=true, so matched rows are marked in deletion vectors instead of rewriting their files; delta-rs cannot write DVs and rewrites (copy-on-write).';
  return [
    mergeScenario('upsert-dv', 'Incremental upsert, deletion vectors', 'The incremental upsert batch.' + note, 'upsert', (rows) => ({ batch: 1, updates: Math.round(rows / 2), deletes: 0, order: 'sorted', file: 'upsert' }), true),
    mergeScenario('update-only-dv', 'Update-only merge, deletion vectors', 'The update-only batch.' + note, 'upsert', (rows) => ({ batch: 3, updates: rows, deletes: 0, order: 'sorted', file: 'update-only' }), true),
    mergeScenario(
      'delete-heavy-dv',
      'Delete-heavy merge, deletion vectors',
      'The delete-heavy batch (80% deletes, 20% updates).' + note,
      'upsert-delete',
      (rows) => ({ batch: 4, updates: rows - Math.round(rows * 0.8), deletes: Math.round(rows * 0.8), order: 'sorted', opColumn: true, file: 'delete-heavy' }),
      true,
    ),
    mergeScenario('no-change-merge-dv', 'No-change merge, deletion vectors', 'The no-change batch.' + note, 'upsert-if-newer', (rows) => ({ batch: 0, updates: rows, deletes: 0, order: 'sorted', file: 'no-change-merge' }), true),
  ];
}

export function selectScenarios(only: string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return SCENARIOS;
  const unknown = only.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; choose from: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return SCENARIOS.filter((s) => only.includes(s.id));
}

/**
 * Landed files through the pipeline. `small-files`: many small CSV files in batches of maxFiles
 * (throughput). `latency`: files land one at a time, each alone in its batch, and every file's
 * time from landing to the target commit is recorded (p50/p95 in the report).
 */
function pipelineScenario(kind: 'small-files' | 'latency', deletionVectors = false): Scenario {
  const latency = kind === 'latency';
  const id = (latency ? 'pipeline-latency' : 'small-files-pipeline') + (deletionVectors ? '-dv' : '');
  return {
    id,
    title: (latency ? 'Pipeline latency: file landing to target commit' : 'Many small files through the pipeline') + (deletionVectors ? ', deletion vectors' : ''),
    description: deletionVectors
      ? "The same files and batches as small-files-pipeline, with lakelet's target created with delta.enableDeletionVectors=true (in lakelet.yml: target: { path, properties }): each batch's MERGE marks replaced rows in deletion vectors instead of rewriting the target's files. The peers run the same steps as in small-files-pipeline (delta-rs cannot write deletion vectors, so it rewrites)."
      : latency
      ? 'CSV files of orders (seed 002) land one at a time; each goes through stage → archive → dedup → MERGE alone before the next lands. Wall time covers all files; the per-file latency (landing → target commit) is reported as p50/p95. lakelet: its real pipeline (PipelineRunner.runAll per landed file, with validation, manifests and ingestion log); the peers: the same steps by hand.'
      : "Landed CSV files of orders (seed 002) through stage → archive → dedup → MERGE on tracking_num, in batches of maxFiles. lakelet: `lakelet run --once` (PipelineRunner, with its validation, manifests and ingestion log); the peers: the same steps written by hand.",
    unit: 'rows',
    unavailable: () => (existsSync(join(REPO_ROOT, 'src', 'pipeline', 'runner.ts')) ? undefined : 'the pipeline (src/pipeline/runner.ts) has not landed yet'),
    async prepare(p) {
      const { scale } = p.ctx;
      const landed = await p.pipelineFiles(kind);
      const maxFiles = latency ? 1 : scale.pipelineMaxFiles;
      return {
        units: landed.rows,
        params: latency
          ? { files: scale.latencyFiles, rowsPerFile: scale.latencyFileRows, maxFilesPerBatch: 1, format: 'csv' }
          : { files: scale.pipelineFiles, rowsPerFile: scale.pipelineFileRows, maxFilesPerBatch: scale.pipelineMaxFiles, format: 'csv' },
        layout: {},
        async setup(engine, repeat) {
          const dir = p.runDir(id, engine, repeat);
          copyLanded(landed.files, join(dir, 'landing'));
          const common = {
            landing: join(dir, 'landing'),
            stage: join(dir, 'stage'),
            target: join(dir, 'target'),
            archive: join(dir, 'archive'),
            key: 'tracking_num',
            orderBy: 'updated_at',
            maxFiles,
            columns: ORDERS_COLUMNS,
            ...(latency ? { latency: true } : {}),
          };
          if (engine === 'lakelet') {
            const config = join(dir, 'lakelet.yml');
            writeFileSync(config, pipelineYaml(maxFiles, deletionVectors));
            return { task: { op: 'pipeline', config, ...common }, outputs: [common.stage, common.target, join(dir, 'state')] };
          }
          return { task: { op: 'pipeline', ...common }, outputs: engine === 'duckdb' ? [] : [common.stage, common.target] };
        },
      };
    },
  };
}
