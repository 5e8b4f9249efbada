import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The demo workspace: a lakelet.yml and seed-000-style account files (an initial load, two
 * incremental files with updates, new accounts and a delete marker, and one broken file). A tiny
 * deterministic generator of its own; the synthetic data generator can replace it.
 */
export interface DemoFiles {
  config: string;
  landing: string;
  files: string[];
  accounts: number;
}

const HEADER = 'customer_id,account_number,credit_score,account_balance,last_modified,op';

/** Park–Miller: the same workspace on every machine. */
function prng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

export function writeDemoWorkspace(dir: string, accounts = 500): DemoFiles {
  const landing = join(dir, 'landing', 'accounts');
  mkdirSync(landing, { recursive: true });
  const config = join(dir, 'lakelet.yml');
  writeFileSync(
    config,
    `# lakelet demo: seed 000 (GCS → staging → MERGE on BigQuery), here on the local disk.
stateDir: ./_state
pipelines:
  accounts:
    landing: ./landing/accounts
    pattern: "*.csv"
    format: csv
    csv: { delimiter: ",", header: true }
    stage: ./tables/stage_accounts
    target: ./tables/accounts
    key: account_number
    orderBy: last_modified
    transforms:
      last_modified: { cast: TIMESTAMP }
      credit_score: { cast: INTEGER }
      account_balance: { cast: "DECIMAL(18,2)" }
    schemaDrift: evolve
    deletes: { column: op, values: [D] }
    archive: ./archive/accounts
    quarantine: ./quarantine/accounts
    batch: { maxFiles: 1, maxBytes: 64MB }   # one file per batch, to show each step
`,
  );
  const rand = prng(42);
  const day = (d: number, h: number) => `2024-05-${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:00:00`;
  const row = (i: number, when: string, op: string, bump = 0) => {
    const score = 300 + Math.floor(rand() * 550) + bump;
    const balance = (rand() * 20000).toFixed(2);
    return `C${String(1000 + (i % 400)).padStart(5, '0')},ACC${String(i).padStart(6, '0')},${score},${balance},${when},${op}`;
  };
  const files: string[] = [];
  const write = (name: string, lines: string[], mtime: number) => {
    const path = join(landing, name);
    writeFileSync(path, lines.join('\n') + '\n');
    files.push(name);
    // Arrival order is mtime, then name.
    const t = new Date(Date.UTC(2024, 4, 1) + mtime * 60_000);
    utimesSync(path, t, t);
  };
  write('accounts_initial.csv', [HEADER, ...Array.from({ length: accounts }, (_, i) => row(i, day(1, 0), 'I'))], 0);
  write(
    'accounts_incremental_01.csv',
    [HEADER, ...Array.from({ length: 40 }, (_, k) => row(k * 7, day(2, 9), 'U', 10)), ...Array.from({ length: 20 }, (_, k) => row(accounts + k, day(2, 9), 'I')), row(3, day(2, 10), 'D')],
    1,
  );
  write(
    'accounts_incremental_02.csv',
    [HEADER, ...Array.from({ length: 25 }, (_, k) => row(k * 11 + 1, day(3, 9), 'U', 20)), row(5, day(3, 10), 'D'), row(accounts + 1, day(3, 11), 'U', 5)],
    2,
  );
  // A broken delivery: a ragged row (one field too many) on line 3.
  write('accounts_incremental_03_broken.csv', [HEADER, row(9, day(4, 9), 'U'), `${row(10, day(4, 9), 'U')},EXTRA`], 3);
  return { config, landing, files, accounts };
}
