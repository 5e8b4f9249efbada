import { resolve, dirname } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import { openCompute } from '../../adapters/compute/open-compute.ts';
import { DeltaTable } from '../../engine/table.ts';
import { loadConfig, type LakeletConfig, type PipelineConfig } from '../../pipeline/config.ts';
import { UiRequestError } from '../errors.ts';
import type { TableReader } from './table-reader.ts';

/**
 * What the UI looks at: one lakelet.yml, its tables and its pipelines' state, read through the
 * engine and pipeline APIs with one shared DuckDB. Tables are named by ids made from the config
 * (`<pipeline>.stage`, `<pipeline>.target`, `ingestion_log`), never by a path taken from a request,
 * so a request can only reach what the config names.
 */
export type TableRole = 'stage' | 'target' | 'ingestion-log';

export interface TableRef {
  id: string;
  role: TableRole;
  /** The pipeline the table belongs to (none for the shared ingestion log). */
  pipeline?: string;
  location: string;
  /** Rows page in this order so that a page is the same page every time (empty: file order). */
  order: string[];
}

export interface UiWorkspaceOptions {
  /** Folder of benchmark reports (each a folder with results.json). Default: benchmarks/results beside the config. */
  benchmarks?: string;
}

export class UiWorkspace {
  readonly tables: TableRef[];
  readonly benchmarks: string;
  /** Reads the tables the config names, from the warehouse it says (Delta or BigQuery). */
  readonly reader: TableReader;
  private handles = new Map<string, DeltaTable>();
  /** One request at a time reaches DuckDB: the UI has one connection and one user. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly config: LakeletConfig,
    readonly compute: Compute,
    options: UiWorkspaceOptions,
    reader: (ws: UiWorkspace) => TableReader,
  ) {
    this.benchmarks = resolve(options.benchmarks ?? resolve(dirname(config.file), 'benchmarks', 'results'));
    this.tables = [
      ...config.pipelines.flatMap((p): TableRef[] => [
        { id: `${p.name}.stage`, role: 'stage', pipeline: p.name, location: p.stage, order: ['_batch', '_source_file', '_row_number'] },
        ...(p.target ? [{ id: `${p.name}.target`, role: 'target' as const, pipeline: p.name, location: p.target, order: p.key }] : []),
      ]),
      { id: 'ingestion_log', role: 'ingestion-log', location: config.ingestionLog, order: ['logged_at DESC', 'batch DESC', 'file_name'] },
    ];
    this.reader = reader(this);
  }

  /** `reader`: how the tables are read (open-reader.ts picks it from the config's warehouse). */
  static async open(configFile: string, options: UiWorkspaceOptions, reader: (ws: UiWorkspace) => TableReader): Promise<UiWorkspace> {
    const config = loadConfig(configFile);
    const compute = await openCompute();
    try {
      return new UiWorkspace(config, compute, options, reader);
    } catch (err) {
      compute.close();
      throw err;
    }
  }

  /** Runs `fn` after every earlier call has finished (DuckDB work never interleaves). */
  serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  tableRef(id: string): TableRef {
    const ref = this.tables.find((t) => t.id === id);
    if (!ref) throw new UiRequestError(404, `no table '${id}' in ${this.config.file}; the tables are ${this.tables.map((t) => t.id).join(', ')}`);
    return ref;
  }

  async table(id: string): Promise<DeltaTable> {
    const ref = this.tableRef(id);
    let handle = this.handles.get(ref.id);
    if (!handle) {
      handle = await DeltaTable.forPath(ref.location, { compute: this.compute });
      this.handles.set(ref.id, handle);
    }
    return handle;
  }

  pipeline(name: string): PipelineConfig {
    const p = this.config.pipelines.find((x) => x.name === name);
    if (!p) throw new UiRequestError(404, `no pipeline '${name}' in ${this.config.file}; the pipelines are ${this.config.pipelines.map((x) => x.name).join(', ')}`);
    return p;
  }

  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
    this.compute.close();
  }
}
