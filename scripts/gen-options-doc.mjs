#!/usr/bin/env node
// Writes docs/options.md from the option tables (lib/options/*-table.ts). `--check`: exit 1 if it is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { optionsMarkdown } = require('../dist/options/docs.js');
const file = new URL('../docs/options.md', import.meta.url);
const text = optionsMarkdown();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('docs/options.md is stale: run `npm run build:ts && node scripts/gen-options-doc.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
}
