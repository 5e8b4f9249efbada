import { logPage, statusCounts } from './log-table.ts';
import { describeTable, tableChanges, tableHistory, tableList, tableRows } from './tables.ts';
import type { LogQuery, PageQuery, StatusCount, TableReader } from './table-reader.ts';
import type { UiWorkspace } from './workspace.ts';

/** Delta tables (local disk or gs://) through lakelet's engine: every version, the change data feed. */
export class DeltaReader implements TableReader {
  readonly warehouse = 'delta';
  readonly timeTravel = true;

  constructor(private readonly ws: UiWorkspace) {}

  list() {
    return tableList(this.ws);
  }

  async describe(id: string, version: number | undefined) {
    return { warehouse: this.warehouse, timeTravel: this.timeTravel, ...(await describeTable(this.ws, id, version)) };
  }

  history(id: string, limit: number) {
    return tableHistory(this.ws, id, limit);
  }

  rows(id: string, q: PageQuery & { version?: number; filters: string | null }) {
    return tableRows(this.ws, id, q);
  }

  changes(id: string, q: PageQuery & { from: number; to?: number }) {
    return tableChanges(this.ws, id, q);
  }

  statusCounts(): Promise<StatusCount[]> {
    return statusCounts(this.ws);
  }

  logPage(q: LogQuery) {
    return logPage(this.ws, q);
  }
}
