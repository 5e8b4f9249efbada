import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

/**
 * Notebook plumbing only: `--config <lakelet.yml>` (default ./lakelet.yml), `--pipeline <name>`
 * (default orders), and a helper that lands the sample files when the landing folder is empty.
 */
export function notebookArgs(argv = process.argv.slice(2)): { config: string; pipeline: string } {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return { config: resolve(get('--config') ?? 'lakelet.yml'), pipeline: get('--pipeline') ?? 'orders' };
}

/** Copies data/samples/<name>/ into `landing` if it holds no file yet; returns the files landed. */
export function landSamplesIfEmpty(sample: string, landing: string): string[] {
  mkdirSync(landing, { recursive: true });
  if (readdirSync(landing).length > 0) return [];
  const from = fileURLToPath(new URL(`../data/samples/${sample}/`, import.meta.url));
  if (!existsSync(from)) return [];
  const files = readdirSync(from);
  for (const f of files) cpSync(join(from, f), join(landing, f));
  return files;
}
