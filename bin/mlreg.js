#!/usr/bin/env node
// The mlreg executable: everything lives in the compiled CLI (npm run build, run by `prepare`).
import { main } from '../dist/src/cli/main.js';

await main(process.argv);
