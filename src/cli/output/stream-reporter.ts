import cliProgress from 'cli-progress';
import { noProgress, type Level, type Reporter } from '../../pipeline/reporter.ts';

/**
 * The CLI's Reporter: pipeline events as one JSON object per line on stderr, or short text lines,
 * and, on a terminal, progress bars (drawn with cli-progress, which only the CLI imports).
 */
export interface StreamReporterOptions {
  format: 'json' | 'text';
  /** Minimum level written. Default info. */
  level?: Level;
  stream?: NodeJS.WriteStream;
  /** Progress bars; default: when the stream is a TTY and the format is text. */
  bars?: boolean;
  now?: () => number;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function streamReporter(options: StreamReporterOptions): Reporter {
  const stream = options.stream ?? process.stderr;
  const min = ORDER[options.level ?? 'info'];
  const bars = options.bars ?? (options.format === 'text' && stream.isTTY === true);
  const now = options.now ?? Date.now;
  let active: cliProgress.SingleBar | undefined;
  return {
    event(level, event, fields = {}) {
      if (ORDER[level] < min) return;
      let line: string;
      if (options.format === 'json') {
        line = JSON.stringify({ ts: new Date(now()).toISOString(), level, event, ...fields });
      } else {
        const detail = Object.entries(fields)
          .filter(([, v]) => v !== undefined && v !== null && v !== '')
          .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(' ');
        line = `${level === 'info' ? '' : level + ': '}${event}${detail ? ' ' + detail : ''}`;
      }
      if (active) {
        // Print above the bar.
        stream.write('\r\x1b[K' + line + '\n');
        active.render();
      } else {
        stream.write(line + '\n');
      }
    },
    progress(label, total) {
      if (!bars || total <= 1) return noProgress;
      const bar = new cliProgress.SingleBar(
        { format: `${label} [{bar}] {value}/{total} {file}`, stream, hideCursor: false, clearOnComplete: true, barsize: 24 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { file: '' });
      active = bar;
      return {
        tick(n = 1, file = '') {
          bar.increment(n, { file });
        },
        stop() {
          bar.stop();
          if (active === bar) active = undefined;
        },
      };
    },
  };
}
