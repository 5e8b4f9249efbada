import { LakeletError } from '../errors/lakelet-error.ts';

/**
 * The Cloud Function is deployed in a way that cannot keep the pipeline's promises: e.g. its
 * batch state or tables on the instance's own disk, which Cloud Run wipes with the instance (the
 * next instance would plan batch 1 again and take it for applied). Thrown for every event until
 * the configuration is fixed, so the platform keeps them for a retry instead of losing them.
 */
export class FunctionSetupError extends LakeletError {
  constructor(message: string) {
    super('FUNCTION_SETUP', message);
  }
}
