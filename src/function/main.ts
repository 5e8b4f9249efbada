import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Compute } from '../adapters/compute/compute.ts';
import { openCompute } from '../adapters/compute/open-compute.ts';
import type { FinalizedObject } from '../adapters/trigger/cloud-function/finalized-object.ts';
import { registerFinalizedHandler } from '../adapters/trigger/cloud-function/register-finalized.ts';
import { CommitConflictError } from '../engine/errors.ts';
import { LakeletError } from '../errors/lakelet-error.ts';
import { loadConfig } from '../pipeline/config.ts';
import { PipelineBusyError } from '../pipeline/errors.ts';
import { cloudLog } from './cloud-logging.ts';
import { FunctionSetupError } from './errors.ts';
import { handleFinalized } from './finalized-handler.ts';
import { FUNCTION_TARGET } from './target.ts';

/**
 * The Cloud Function entry: the module the Functions Framework loads (through bin/lakelet-function.mjs,
 * package.json's `main`). It registers the function target FUNCTION_TARGET (target.ts) for Cloud Storage
 * finalize events; each event runs the pipeline whose landing holds the object, for that object.
 *
 * Environment: LAKELET_CONFIG (the pipeline definition; default ./lakelet.yml, relative to the
 * working directory, which is the deployed source folder on GCP), STORAGE_EMULATOR_HOST (an emulator
 * instead of Cloud Storage), and the usual Application Default Credentials.
 *
 * Events are handled one at a time per instance (each takes the pipeline's lock); DuckDB is opened
 * once per instance and kept for the next event.
 */
const log = cloudLog();
let compute: Promise<Compute> | undefined;
let queue: Promise<unknown> = Promise.resolve();

function sharedCompute(): Promise<Compute> {
  compute ??= openCompute().catch((err: unknown) => {
    compute = undefined;
    throw err;
  });
  return compute;
}

function handleInTurn(object: FinalizedObject): Promise<void> {
  const run = queue.then(() => handleOne(object));
  queue = run.catch(() => {});
  return run;
}

async function handleOne(object: FinalizedObject): Promise<void> {
  const eventLog = log.with({ eventId: object.eventId, object: `gs://${object.bucket}/${object.name}`, ...(object.generation ? { generation: object.generation } : {}) });
  try {
    const config = loadConfig(configFile());
    await handleFinalized(object, { config, compute: await sharedCompute(), log: eventLog, ephemeralDisk: Boolean(process.env.K_SERVICE) });
  } catch (err) {
    const retry = retryable(err);
    const message = err instanceof Error ? err.message : String(err);
    eventLog.write(
      retry ? 'WARNING' : 'ERROR',
      `${message} — ${
        retry
          ? 'a transient failure: answered with an error so that the platform delivers the event again.'
          : 'answered with an error; the object stays in the landing: fix the cause, and a redelivery of the event (or lakelet run --once) takes it.'
      }`,
      { error: err instanceof LakeletError ? err.code : 'UNEXPECTED', retry },
    );
    throw err;
  }
}

/** The pipeline definition: LAKELET_CONFIG, or lakelet.yml in the working directory (the deployed source folder on GCP). */
function configFile(): string {
  const file = resolve(process.env.LAKELET_CONFIG || 'lakelet.yml');
  if (!existsSync(file)) {
    throw new FunctionSetupError(
      `${file}: no pipeline definition there. Set LAKELET_CONFIG to the lakelet.yml deployed with the function (a path relative to ${process.cwd()}, or absolute).`,
    );
  }
  return file;
}

/** Failures that a later delivery may not meet: a busy or flaky store, a commit race, another instance holding the lock. */
function retryable(err: unknown): boolean {
  return err instanceof LakeletError && (err.transient || err instanceof CommitConflictError || err instanceof PipelineBusyError);
}

/** The handler, as registered (exported too, for `--signature-type=cloudevent` setups that look it up by name). */
export const lakeletFinalized = registerFinalizedHandler(FUNCTION_TARGET, handleInTurn, (err) =>
  log.write('ERROR', `${err.message} Acknowledged: a redelivery of this event could not succeed either.`, { eventId: err.eventId, error: err.code }),
);
