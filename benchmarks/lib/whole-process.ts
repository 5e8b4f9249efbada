import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * Times commands as whole processes (start-up, imports, work, exit), for the `cli-start` scenario:
 * wall time around the child, CPU time from the children's share of /proc/self/stat (user + system
 * of reaped children, Linux; 0 elsewhere). Each command runs once unmeasured first (warm file cache).
 */
export interface ProcessTiming {
  wallMs: number;
  cpuMs: number;
}

function childrenCpuMs(): number {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): cutime and cstime
    // are fields 16 and 17 of the whole line, in clock ticks (100 a second on Linux).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return 0;
  }
}

export function timeProcess(argv: string[], options: { warmup?: boolean } = {}): ProcessTiming {
  const [cmd, ...args] = argv;
  const once = () => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').at(-1)}`);
  };
  if (options.warmup !== false) once();
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  once();
  return { wallMs: performance.now() - t0, cpuMs: childrenCpuMs() - cpu0 };
}
