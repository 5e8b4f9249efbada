import type { EngineId } from './engines.ts';
import type { MachineInfo } from './machine.ts';
import type { Scale } from './scales.ts';

/** The JSON file a benchmark run writes (results.json). Every raw measurement is kept. */
export interface BenchResults {
  schemaVersion: 1;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  scale: Scale;
  options: { repeat: number; only: string[] | null; engines: EngineId[]; seed: number };
  machine: MachineInfo;
  /** 1-, 5- and 15-minute load averages before and after the run. */
  loadAverage: { start: number[]; end: number[] };
  engines: Record<EngineId, { label: string; available: boolean; note?: string }>;
  /** Time spent preparing data, per step (not part of any measurement). */
  preparationMs: Record<string, number>;
  scenarios: ScenarioResult[];
}

export interface ScenarioResult {
  id: string;
  title: string;
  description: string;
  unit: 'rows' | 'commits';
  /** Set when the scenario did not run at all. */
  skipped?: string;
  units?: number;
  params?: Record<string, unknown>;
  layout?: Partial<Record<EngineId, Record<string, unknown>>>;
  engines: Partial<Record<EngineId, EngineResult>>;
  /** lakelet's median time divided by each peer's (above 1: lakelet is slower). */
  ratios: Partial<Record<EngineId, number>>;
}

export interface EngineResult {
  status: 'ok' | 'failed' | 'skipped' | 'n/a';
  note?: string;
  runs: RunMeasurement[];
  summary?: EngineSummary;
}

export interface RunMeasurement {
  repeat: number;
  /** The operation's wall time, measured inside the child. */
  wallMs: number;
  /** The whole child process, start-up and preparation included. */
  processMs: number;
  cpuMs: number;
  peakRssBytes: number;
  rssAtStartBytes: number;
  /** New or changed bytes in the engine's output folders (null: in memory). */
  bytesWritten: number | null;
  rows?: number;
  files?: number;
  version?: number;
  metrics?: Record<string, unknown>;
  /** Sub-timings an engine reports (lakelet: openMs, opening the table). */
  phases?: Record<string, number>;
  /** The machine's 1-minute load average when the run started (other work on the machine adds noise). */
  loadAverage1m: number;
  error?: string;
}

export interface EngineSummary {
  medianMs: number;
  minMs: number;
  maxMs: number;
  unitsPerSecond: number;
  peakRssBytes: number;
  medianBytesWritten: number | null;
  medianCpuMs: number;
}
