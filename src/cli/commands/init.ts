import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../engine/errors.ts';
import { STARTER_CONFIG } from '../../pipeline/starter-config.ts';

interface InitOptions {
  force?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .summary('write a commented starter lakelet.yml')
    .description(
      'Write a starter lakelet.yml into a folder (default: the current one): one runnable pipeline with every key ' +
        'shown and commented. An existing lakelet.yml is left alone unless --force is given.',
    )
    .argument('[dir]', 'folder to write lakelet.yml into (created if missing)', '.')
    .option('--force', 'overwrite an existing lakelet.yml')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet init
  $ lakelet init pipelines/ && lakelet run --once -c pipelines/lakelet.yml
  $ lakelet init --force`,
    )
    .action((dir: string, options: InitOptions) => {
      const folder = resolve(dir);
      if (existsSync(folder) && !statSync(folder).isDirectory()) throw new InputError(`${folder} is not a folder; give the folder to write lakelet.yml into.`);
      const file = join(folder, 'lakelet.yml');
      if (existsSync(file) && !options.force) throw new InputError(`${file} already exists; nothing was written. Use --force to overwrite it, or give another folder.`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(file, STARTER_CONFIG);
      const shown = relative(process.cwd(), file) || file;
      const c = folder === process.cwd() ? '' : ` -c ${shown}`;
      process.stdout.write(`wrote ${shown}\nnext: lakelet generate orders --rows 10k --files 3 --pipeline orders${c} && lakelet run --once${c}\n`);
    });
}
