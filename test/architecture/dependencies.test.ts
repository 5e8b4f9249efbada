import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The dependency guard: imports in src/ point one way, and each vendor SDK stays in its folder.
 * Imports are read with TypeScript's own import scanner (static, `export … from`, `import type`,
 * dynamic `import()`), so comments and strings that look like imports are not counted.
 */

const REPO = resolve(import.meta.dirname, '../..');
const SRC = join(REPO, 'src');

/**
 * Layers from the top: a file may import its own layer or one below it, never one above.
 * `function/` (the Cloud Function entry) is an entry point like `cli/`, beside it: it runs
 * pipelines, and nothing but the CLI may sit above it.
 * `dev/` (synthetic data, demo workspaces) sits above the pipeline: it reads a pipeline's config.
 * `ui/` (the `lakelet ui` web server) is an entry point like cli/, which starts it: it reads through
 * the pipeline, warehouse and engine APIs and never imports the CLI.
 */
const LAYERS = ['cli', 'ui', 'function', 'dev', 'pipeline', 'warehouse', 'engine', 'adapters', 'errors'] as const;

/** Packages that only their own folders may import (a path prefix under src/, ending in '/'). */
const PACKAGE_HOMES: { test: (pkg: string) => boolean; name: string; homes: string[] }[] = [
  { name: '@duckdb/node-api', test: (p) => p === '@duckdb/node-api', homes: ['adapters/compute/duckdb/'] },
  { name: '@google-cloud/functions-framework', test: (p) => p === '@google-cloud/functions-framework', homes: ['adapters/trigger/cloud-function/'] },
  { name: '@google-cloud/*', test: (p) => p.startsWith('@google-cloud/') && p !== '@google-cloud/functions-framework', homes: ['adapters/storage/gcs/', 'warehouse/bigquery/', 'adapters/sources/bigquery/'] },
  { name: 'mysql2', test: (p) => p === 'mysql2', homes: ['adapters/sources/mysql/'] },
  { name: 'pg', test: (p) => p === 'pg' || p.startsWith('pg-'), homes: ['adapters/sources/postgres/'] },
  { name: 'chokidar', test: (p) => p === 'chokidar', homes: ['adapters/trigger/chokidar/'] },
  { name: 'cli-progress', test: (p) => p === 'cli-progress', homes: ['cli/'] },
];

/** Only the compute folder itself reaches the DuckDB implementation; everyone else sees the port. */
const PRIVATE_FOLDERS: { folder: string; visibleFrom: string }[] = [{ folder: 'adapters/compute/duckdb/', visibleFrom: 'adapters/compute/' }];

/** Folders whose subfolders are vendors: a vendor never imports a sibling vendor. */
const VENDOR_PARENTS = ['warehouse/', 'adapters/storage/', 'adapters/compute/', 'adapters/trigger/', 'adapters/sources/'];

/** A file path relative to src/, with forward slashes. */
type SrcPath = string;

function layerOf(file: SrcPath): string | undefined {
  const top = file.split('/')[0];
  return (LAYERS as readonly string[]).includes(top) && file.includes('/') ? top : undefined;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function vendorOf(file: SrcPath): { parent: string; vendor: string } | undefined {
  for (const parent of VENDOR_PARENTS) {
    if (!file.startsWith(parent)) continue;
    const rest = file.slice(parent.length).split('/');
    if (rest.length > 1) return { parent, vendor: rest[0] };
  }
  return undefined;
}

/** Every rule one import of `file` breaks, as `file imports 'specifier': why`. */
function importViolations(file: SrcPath, specifier: string): string[] {
  const out: string[] = [];
  const say = (why: string) => out.push(`src/${file} imports '${specifier}': ${why}`);
  const from = layerOf(file);
  if (!from) {
    say(`src/${file.split('/')[0]} is not a known layer (known: ${LAYERS.join(', ')}); place the file in one, or add the layer to LAYERS`);
    return out;
  }
  if (specifier.startsWith('.')) {
    const target = relative(SRC, resolve(SRC, dirname(file), specifier)).split(sep).join('/');
    if (target.startsWith('..')) {
      say('reaches outside src/');
      return out;
    }
    const to = layerOf(target);
    if (!to) say(`src/${target} is in no known layer`);
    else if (LAYERS.indexOf(to as (typeof LAYERS)[number]) < LAYERS.indexOf(from as (typeof LAYERS)[number])) {
      say(`${from}/ may not import ${to}/ (layers point down: ${LAYERS.join(' → ')})`);
    }
    for (const p of PRIVATE_FOLDERS) {
      if (target.startsWith(p.folder) && !file.startsWith(p.visibleFrom)) say(`src/${p.folder} is reachable only from src/${p.visibleFrom} (use the port)`);
    }
    const a = vendorOf(file);
    const b = vendorOf(target);
    if (a && b && a.parent === b.parent && a.vendor !== b.vendor) say(`vendor folder ${a.parent}${a.vendor}/ may not import its sibling ${b.parent}${b.vendor}/`);
    return out;
  }
  if (specifier.startsWith('node:')) return out;
  const pkg = packageName(specifier);
  for (const rule of PACKAGE_HOMES) {
    if (rule.test(pkg) && !rule.homes.some((h) => file.startsWith(h))) say(`${rule.name} may be imported only under ${rule.homes.map((h) => `src/${h}`).join(' or ')}`);
  }
  return out;
}

/** The import circles (strongly connected groups of two or more files) of a graph of files, Tarjan's way. */
function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) found.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(path: string): string[] {
  return ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

describe('dependency guard', () => {
  it('src/ imports point down the layers, and vendor SDKs stay in their folders', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    const violations = files.flatMap((path) => {
      const file = relative(SRC, path).split(sep).join('/');
      return importsOf(path).flatMap((specifier) => importViolations(file, specifier));
    });
    expect(violations).toEqual([]);
  });

  it('no src/ files import each other in a circle (type-only imports included)', () => {
    const graph = new Map(
      sourceFiles(SRC).map((path) => [
        relative(SRC, path).split(sep).join('/'),
        importsOf(path)
          .filter((s) => s.startsWith('.'))
          .map((s) => relative(SRC, resolve(dirname(path), s)).split(sep).join('/')),
      ]),
    );
    expect(circles(graph)).toEqual([]);
    // The finder itself: a 3-file circle and a 2-file one are found, a chain is not.
    const sample = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['f']], ['f', ['e']], ['g', ['a']]]);
    expect(circles(sample)).toEqual([['a', 'b', 'c'], ['e', 'f']]);
  });

  it('reads every import form, and nothing that only looks like one', () => {
    const text = [
      "import type { A } from './a.ts';",
      "import {\n  b,\n  c,\n} from '../b.ts';",
      "export { d } from './d.ts';",
      "export * from './e.ts';",
      "import './side-effect.ts';",
      "const f = await import('node:fs/promises');",
      "// import nope from 'commented';",
      "const s = \"import nope from 'string'\";",
    ].join('\n');
    expect(ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)).toEqual([
      './a.ts',
      '../b.ts',
      './d.ts',
      './e.ts',
      './side-effect.ts',
      'node:fs/promises',
    ]);
  });

  it('names each broken rule with the file and the import', () => {
    const cases: [SrcPath, string, string[]][] = [
      // allowed: own layer, lower layers, node builtins, SDKs at home, the port
      ['pipeline/batch.ts', './reporter.ts', []],
      ['cli/main.ts', '../pipeline/runner.ts', []],
      ['dev/demo.ts', '../pipeline/config.ts', []],
      ['engine/table.ts', '../adapters/compute/open-compute.ts', []],
      ['adapters/compute/open-compute.ts', './duckdb/duckdb-compute.ts', []],
      ['adapters/compute/duckdb/duckdb-compute.ts', '@duckdb/node-api', []],
      ['adapters/storage/gcs/gcs-object-store.ts', '@google-cloud/storage', []],
      ['warehouse/bigquery/upsert.ts', '@google-cloud/bigquery', []],
      ['adapters/sources/bigquery/bigquery-source.ts', '@google-cloud/bigquery', []],
      ['adapters/sources/postgres/postgres-source.ts', '@google-cloud/bigquery', ["src/adapters/sources/postgres/postgres-source.ts imports '@google-cloud/bigquery': @google-cloud/* may be imported only under src/adapters/storage/gcs/ or src/warehouse/bigquery/ or src/adapters/sources/bigquery/"]],
      ['adapters/sources/postgres/extract.ts', 'pg-query-stream', []],
      ['adapters/sources/mysql/extract.ts', 'mysql2', []],
      ['cli/commands/generate.ts', 'cli-progress', []],
      ['adapters/trigger/cloud-function/register-finalized.ts', '@google-cloud/functions-framework', []],
      ['function/main.ts', '../adapters/trigger/cloud-function/register-finalized.ts', []],
      ['function/finalized-handler.ts', '../pipeline/runner.ts', []],
      ['adapters/io-error.ts', '../errors/lakelet-error.ts', []],
      ['engine/delta/checkpoint-writer.ts', 'node:fs/promises', []],
      ['cli/commands/ui.ts', '../../ui/server.ts', []],
      ['ui/api/tables.ts', '../../engine/delta/scan.ts', []],
      ['ui/api/pipelines.ts', '../../pipeline/batch-state.ts', []],
      // upward
      ['engine/ops/write.ts', '../../pipeline/config.ts', ["src/engine/ops/write.ts imports '../../pipeline/config.ts': engine/ may not import pipeline/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['adapters/storage/open-store.ts', '../../engine/errors.ts', ["src/adapters/storage/open-store.ts imports '../../engine/errors.ts': adapters/ may not import engine/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['pipeline/runner.ts', '../dev/demo.ts', ["src/pipeline/runner.ts imports '../dev/demo.ts': pipeline/ may not import dev/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['errors/lakelet-error.ts', '../adapters/clock.ts', ["src/errors/lakelet-error.ts imports '../adapters/clock.ts': errors/ may not import adapters/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['ui/server.ts', '../cli/options.ts', ["src/ui/server.ts imports '../cli/options.ts': ui/ may not import cli/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['pipeline/runner.ts', '../ui/server.ts', ["src/pipeline/runner.ts imports '../ui/server.ts': pipeline/ may not import ui/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['ui/api/rows-page.ts', '@duckdb/node-api', ["src/ui/api/rows-page.ts imports '@duckdb/node-api': @duckdb/node-api may be imported only under src/adapters/compute/duckdb/"]],
      // SDKs away from home
      ['engine/delta/scan.ts', '@duckdb/node-api', ["src/engine/delta/scan.ts imports '@duckdb/node-api': @duckdb/node-api may be imported only under src/adapters/compute/duckdb/"]],
      ['pipeline/batch.ts', '@google-cloud/storage', ["src/pipeline/batch.ts imports '@google-cloud/storage': @google-cloud/* may be imported only under src/adapters/storage/gcs/ or src/warehouse/bigquery/ or src/adapters/sources/bigquery/"]],
      ['function/main.ts', '@google-cloud/functions-framework', ["src/function/main.ts imports '@google-cloud/functions-framework': @google-cloud/functions-framework may be imported only under src/adapters/trigger/cloud-function/"]],
      ['adapters/storage/gcs/gcs-client.ts', '@google-cloud/functions-framework', ["src/adapters/storage/gcs/gcs-client.ts imports '@google-cloud/functions-framework': @google-cloud/functions-framework may be imported only under src/adapters/trigger/cloud-function/"]],
      ['adapters/trigger/cloud-function/register-finalized.ts', '@google-cloud/storage', ["src/adapters/trigger/cloud-function/register-finalized.ts imports '@google-cloud/storage': @google-cloud/* may be imported only under src/adapters/storage/gcs/ or src/warehouse/bigquery/ or src/adapters/sources/bigquery/"]],
      // the entry layers: the function runs pipelines but is never imported from below
      ['pipeline/runner.ts', '../function/main.ts', ["src/pipeline/runner.ts imports '../function/main.ts': pipeline/ may not import function/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['function/main.ts', '../cli/main.ts', ["src/function/main.ts imports '../cli/main.ts': function/ may not import cli/ (layers point down: cli → ui → function → dev → pipeline → warehouse → engine → adapters → errors)"]],
      ['adapters/sources/mysql/extract.ts', 'pg', ["src/adapters/sources/mysql/extract.ts imports 'pg': pg may be imported only under src/adapters/sources/postgres/"]],
      ['warehouse/delta/stage.ts', 'mysql2/promise', ["src/warehouse/delta/stage.ts imports 'mysql2/promise': mysql2 may be imported only under src/adapters/sources/mysql/"]],
      ['cli/commands/watch.ts', 'chokidar', ["src/cli/commands/watch.ts imports 'chokidar': chokidar may be imported only under src/adapters/trigger/chokidar/"]],
      ['pipeline/reporter.ts', 'cli-progress', ["src/pipeline/reporter.ts imports 'cli-progress': cli-progress may be imported only under src/cli/"]],
      // the DuckDB implementation behind the port, sideways vendors, strays
      ['engine/table.ts', '../adapters/compute/duckdb/duckdb-compute.ts', ["src/engine/table.ts imports '../adapters/compute/duckdb/duckdb-compute.ts': src/adapters/compute/duckdb/ is reachable only from src/adapters/compute/ (use the port)"]],
      ['warehouse/bigquery/stage.ts', '../delta/stage.ts', ["src/warehouse/bigquery/stage.ts imports '../delta/stage.ts': vendor folder warehouse/bigquery/ may not import its sibling warehouse/delta/"]],
      ['adapters/trigger/chokidar/chokidar-trigger.ts', '../directory-scan/directory-scan-trigger.ts', ["src/adapters/trigger/chokidar/chokidar-trigger.ts imports '../directory-scan/directory-scan-trigger.ts': vendor folder adapters/trigger/chokidar/ may not import its sibling adapters/trigger/directory-scan/"]],
      ['pipeline/batch.ts', '../../test/support/temp.ts', ["src/pipeline/batch.ts imports '../../test/support/temp.ts': reaches outside src/"]],
      ['tools/x.ts', './y.ts', ["src/tools/x.ts imports './y.ts': src/tools is not a known layer (known: cli, ui, function, dev, pipeline, warehouse, engine, adapters, errors); place the file in one, or add the layer to LAYERS"]],
    ];
    for (const [file, specifier, expected] of cases) expect(importViolations(file, specifier), `${file} → ${specifier}`).toEqual(expected);
  });
});
