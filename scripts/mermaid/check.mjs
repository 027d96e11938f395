// Parses Mermaid diagrams with the real Mermaid parser (the `mermaid` package
// pinned in package.json; GitHub renders with the same grammar). Each
// argument is a file holding one diagram, without a markdown fence. Prints
// `ok FILE` or `error FILE: MESSAGE` per file; exits 1 when any failed to
// parse, 2 on bad usage. Mermaid needs a DOM for its sanitizer: jsdom gives it one.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check.mjs DIAGRAM.mmd...');
  process.exit(2);
}
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let failed = 0;
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    if (!result || result.diagramType !== 'flowchart-v2') {
      throw new Error(`not a flowchart: ${JSON.stringify(result)}`);
    }
    console.log(`ok ${file}`);
  } catch (e) {
    failed += 1;
    console.log(`error ${file}: ${String(e && e.message ? e.message : e).split('\n').join(' ')}`);
  }
}
process.exit(failed ? 1 : 0);
