#!/usr/bin/env node
// The `lakelet` command: loads the TypeScript sources through tsx, then hands over to src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
