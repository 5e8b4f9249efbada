import { Option, type Command } from 'commander';

/**
 * `--profile <name>` (or LAKELET_PROFILE) on every command that reads lakelet.yml: which entry of
 * its `profiles:` section gives the locations (`local`, the default, is the file as written).
 */
export function profileFlag(): Option {
  return new Option('--profile <name>', "which entry of lakelet.yml's profiles: gives the locations (only locations differ between profiles)")
    .env('LAKELET_PROFILE')
    .default('local');
}

export function profileOption(cmd: Command): Command {
  return cmd.addOption(profileFlag());
}
