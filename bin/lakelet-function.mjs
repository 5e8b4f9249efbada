// The Cloud Function's module, as the Functions Framework loads it (package.json "main"): loads the
// TypeScript sources through tsx, then src/function/main.ts, which registers the function target
// `lakeletFinalized`. The one place that names the entry module (a compiled build would change it here).
import { register } from 'tsx/esm/api';

register();
await import('../src/function/main.ts');
