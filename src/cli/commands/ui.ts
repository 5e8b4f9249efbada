import { spawn } from 'node:child_process';
import { Option, type Command } from 'commander';
import { UiBindError } from '../../ui/errors.ts';
import { startUiServer } from '../../ui/server.ts';
import { portNumber } from '../options.ts';
import { usageError } from '../errors.ts';

interface UiOptions {
  config: string;
  port: number;
  host: string;
  allowRemote?: boolean;
  open?: boolean;
  benchmarks?: string;
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .summary('serve a local, read-only web view of the pipelines, files, tables, versions and benchmarks')
    .description(
      'Serve a web app on 127.0.0.1 (a free port unless --port says which; the address is printed) that shows ' +
        'the pipelines of a lakelet.yml (landing, runs, counts), the ingestion log with each file\'s lifecycle and ' +
        'quarantine report, every table (schema, properties, a paged and filtered row preview as of any version), ' +
        'its history with MERGE metrics and size charts, and the benchmark reports. Read-only; stops on Ctrl-C.',
    )
    .option('-c, --config <file>', 'the pipeline definition', 'lakelet.yml')
    .option('--port <n>', 'port to listen on (0: a free one)', portNumber, 0)
    .addOption(new Option('--host <address>', 'address to listen on (only loopback unless --allow-remote)').default('127.0.0.1'))
    .option('--allow-remote', 'allow a non-loopback --host: anyone who can reach it can read every table')
    .option('--open', 'open the page in the default browser')
    .option('--benchmarks <dir>', 'folder of benchmark reports (default: benchmarks/results beside lakelet.yml)')
    .addHelpText(
      'after',
      `
Examples:
  $ lakelet ui
  $ lakelet ui -c pipelines/lakelet.yml --port 8700 --open`,
    )
    .action(async (options: UiOptions) => {
      let server;
      try {
        server = await startUiServer({
          configFile: options.config,
          host: options.host,
          port: options.port,
          allowRemote: options.allowRemote ?? false,
          ...(options.benchmarks ? { benchmarks: options.benchmarks } : {}),
        });
      } catch (err) {
        if (err instanceof UiBindError) throw usageError(err.message);
        throw err;
      }
      process.stdout.write(`lakelet ui: serving ${options.config} at ${server.url} (read-only; Ctrl-C to stop)\n`);
      if (options.open) openBrowser(server.url);
      // Until a signal: then the server closes its connections and the command returns (exit 0).
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      await server.close();
      process.stdout.write(`lakelet ui: stopped (${signal})\n`);
    });
}

/** The platform's "open this URL" command; a failure is a note, not an error (the URL is printed). */
function openBrowser(url: string): void {
  const [command, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`lakelet ui: could not open a browser (${command}); open ${url} yourself\n`));
  child.unref();
}
