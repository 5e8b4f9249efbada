#!/usr/bin/env node
// `node bin/lakelet.mjs …`, as the docs and scripts have it: the command is bin/lakelet.cjs (the
// package's bin; CommonJS so that a plain `lakelet read` does not start Node's ESM loader).
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./lakelet.cjs');
