/**
 * The function target (`--target` locally, `--entry-point` on deploy) under which src/function/main.ts
 * registers the Cloud Storage finalize handler. Its own module so that tests and tools can name it
 * without loading the function (which registers it with the Functions Framework on import).
 */
export const FUNCTION_TARGET = 'lakeletFinalized';
