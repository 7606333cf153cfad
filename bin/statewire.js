#!/usr/bin/env node
// The `statewire` command: runs the built CLI (dist/, made by `npm run build`, which `prepare` runs).
const { main } = await import('../dist/visualizer/cli.js');
process.exitCode = await main(process.argv.slice(2));
