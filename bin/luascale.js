#!/usr/bin/env node
// The published entry point: the compiled CLI (built by `npm ci` through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // main() already turns user errors into one line; anything here is a bug in luascale.
    console.error(err);
    process.exitCode = 70;
  },
);
