#!/usr/bin/env node
// The mlreg executable: everything lives in the compiled CLI (npm run build, run by `prepare`).
import module from 'node:module';

// Node 22.1+ caches compiled code between runs (a faster start for every command); older Nodes skip it.
module.enableCompileCache?.();

const { main } = await import('../dist/src/cli/main.js');
await main(process.argv);
