import { mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ManualClock } from '../../src/adapters/clock.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { parseConfig } from '../../src/pipeline/config.ts';
import { PipelineRunner, type RunSummary } from '../../src/pipeline/runner.ts';
import { noProgress, type Reporter } from '../../src/pipeline/reporter.ts';
import { openIngestionLog } from '../../src/pipeline/ingestion-log.ts';
import { tempDir } from './temp.ts';

/** A pipeline workspace in a temp folder: lakelet.yml, landing folders, tables, all real files. */
export class Workspace {
  readonly dir: string;
  readonly cleanup: () => void;
  private tick = 0;
  clock = new ManualClock(Date.UTC(2024, 4, 17, 8, 30, 0));

  constructor(public yaml: string) {
    const t = tempDir('lakelet-pipeline-');
    this.dir = t.dir;
    this.cleanup = t.cleanup;
    writeFileSync(join(this.dir, 'lakelet.yml'), yaml);
  }

  /** The config changed between runs (what an operator does before running again). */
  writeConfig(yaml: string): void {
    this.yaml = yaml;
    writeFileSync(this.configFile, yaml);
  }

  get configFile(): string {
    return join(this.dir, 'lakelet.yml');
  }

  config() {
    return parseConfig(this.yaml, this.configFile);
  }

  /** Lands a file with an mtime later than every file landed before (arrival order). */
  land(rel: string, content: string | Uint8Array): string {
    const path = join(this.dir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
    const t = new Date(Date.UTC(2024, 0, 1) + ++this.tick * 1000);
    utimesSync(path, t, t);
    return path;
  }

  /** The events of every run, as the runner reported them. */
  readonly events: { level: string; event: string; fields?: Record<string, unknown> }[] = [];

  async run(options: { only?: string[] } = {}): Promise<RunSummary> {
    const reporter: Reporter = { event: (level, event, fields) => void this.events.push({ level, event, fields }), progress: () => noProgress };
    const runner = await PipelineRunner.open(this.config(), { clock: this.clock, reporter, ...(options.only ? { only: options.only } : {}) });
    try {
      return await runner.runAll();
    } finally {
      await runner.close();
    }
  }

  async rows(table: string, orderBy: string, where?: string): Promise<Record<string, unknown>[]> {
    const t = await DeltaTable.forPath(join(this.dir, table));
    try {
      if (!(await t.exists())) return [];
      return await t.read({ orderBy, ...(where ? { where } : {}) });
    } finally {
      t.close();
    }
  }

  async log(pipeline?: string): Promise<Record<string, unknown>[]> {
    const compute = await openCompute();
    try {
      const log = await openIngestionLog(this.config(), compute, this.clock);
      const rows = await log.read(pipeline ? { pipeline } : {});
      return rows.sort((a, b) => Number(a.batch) - Number(b.batch) || String(a.file_name).localeCompare(String(b.file_name)));
    } finally {
      compute.close();
    }
  }

  /** The parsed `<name>.error.json` written beside a quarantined file (a test failure when there is none). */
  quarantineError(name: string): Record<string, unknown> {
    const file = this.files('quarantine').find((f) => f.endsWith(`/${name}.error.json`));
    if (!file) throw new Error(`no error.json for ${name}: ${this.files('quarantine').join(', ')}`);
    return JSON.parse(readFileSync(join(this.dir, 'quarantine', file), 'utf8'));
  }

  /** Every file under a folder of the workspace, relative to it, sorted. */
  files(rel: string): string[] {
    const root = join(this.dir, rel);
    try {
      return readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(root, join(e.parentPath, e.name)))
        .sort();
    } catch {
      return [];
    }
  }
}

export function csv(header: string, rows: (string | number | null)[][]): string {
  return [header, ...rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(','))].join('\n') + '\n';
}
