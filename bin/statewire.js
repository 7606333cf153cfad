#!/usr/bin/env node
// The `statewire` command. The package ships TypeScript sources, run through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli.ts');
process.exitCode = main(process.argv.slice(2));
