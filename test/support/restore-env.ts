import { afterAll } from 'vitest';

/**
 * setupFiles of the `process` project, which runs several test files one after another in the same
 * worker (isolate: false, vitest.config.ts): whatever a file puts into process.env (an emulator's
 * endpoint, a password variable) is taken out again after its last test, so the next file in that
 * worker starts from the environment it would have had in a fresh process. Setup files run again
 * before each test file, so this snapshot is taken before the file's own module code runs.
 */
const saved: Record<string, string | undefined> = { ...process.env };

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  for (const [key, value] of Object.entries(saved)) if (process.env[key] !== value) process.env[key] = value;
});
