#!/usr/bin/env node
// Entry point of the `signet` binary.
import { runCli } from './cli/main.js';
import { processIO } from './cli/process-io.js';

process.exitCode = await runCli(process.argv.slice(2), processIO());
