#!/usr/bin/env node
// The published entry point: the compiled CLI (built by `npm ci` through `prepare`). run() owns the
// exit code and exits quietly when a reader closes the pipe (`luascale events | head`).
import { run } from '../dist/cli/main.js';

await run(process.argv);
