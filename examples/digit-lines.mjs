// Lines of handwritten digits for examples/digits-ctc.mjs (and bench/digits-torch.mjs, which
// trains PyTorch on the very same batches, and the playground): MNIST images split 80/20
// (seeded) before any line is composed, lines of 3 to 8 digits with random gaps from -4 to
// +8 pixels and up to 3 pixels of vertical jitter, training digits optionally warped.
import { Generator, tensor } from 'recurrent';

/**
 * The images with their digits ({ digit, pixels: Float32Array(784) } each, as examples/mnist.mjs
 * reads them), shuffled with a seeded generator and split 80/20: { trainImages, testImages }.
 */
export function splitDigits(images) {
  const all = [...images];
  const rng = new Generator(11);
  for (let i = all.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  const cut = Math.round(all.length * 0.8);
  return { trainImages: all.slice(0, cut), testImages: all.slice(cut) };
}

/** The columns holding ink of an image: [first, last]. */
function inkColumns(px) {
  let first = 27, last = 0;
  for (let c = 0; c < 28; c++) for (let r = 0; r < 28; r++) if (px[r * 28 + c] > 0.1) { first = Math.min(first, c); last = Math.max(last, c); }
  return first > last ? [10, 17] : [first, last];
}

/** A random displacement field (28x28) smoothed by a Gaussian of `sigma` pixels, scaled by `alpha`. */
function smoothField(g, alpha, sigma) {
  const raw = new Float64Array(784);
  for (let i = 0; i < 784; i++) raw[i] = 2 * g.random() - 1;
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const norm = kernel.reduce((a, b) => a + b, 0);
  // separable blur, zero outside the image (as scipy's gaussian_filter with mode 'constant')
  const blur = (src, stepIn, stepOut) => {
    const out = new Float64Array(784);
    for (let a = 0; a < 28; a++) {
      for (let b = 0; b < 28; b++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const bb = b + k;
          if (bb >= 0 && bb < 28) sum += kernel[k + radius] * src[a * stepOut + bb * stepIn];
        }
        out[a * stepOut + b * stepIn] = sum / norm;
      }
    }
    return out;
  };
  const smooth = blur(blur(raw, 1, 28), 28, 1);
  for (let i = 0; i < 784; i++) smooth[i] *= alpha;
  return smooth;
}

/**
 * The image warped by a random affine map about its centre (rotation up to 8 degrees, slant up to
 * 0.2, scale 0.9-1.1 on each axis, times `strength`) and, when `elastic` > 0, an elastic
 * distortion (Simard et al., 2003: a random displacement field smoothed by a Gaussian of 4 pixels
 * and scaled by `elastic`), bilinear sampling.
 */
export function warp(px, g, strength, elastic = 0) {
  const u = () => 2 * g.random() - 1;
  const angle = (8 * Math.PI / 180) * strength * u(), slant = 0.2 * strength * u();
  const sx = 1 + 0.1 * strength * u(), sy = 1 + 0.1 * strength * u();
  const cos = Math.cos(angle), sin = Math.sin(angle);
  // the inverse map: output (r, c) about the centre -> source coordinates
  const a = cos / sx, b = (sin + slant * cos) / sx, c = -sin / sy, d = (cos - slant * sin) / sy;
  const dx = elastic > 0 ? smoothField(g, elastic, 4) : null;
  const dy = elastic > 0 ? smoothField(g, elastic, 4) : null;
  const out = new Float32Array(784);
  for (let r = 0; r < 28; r++) {
    for (let col = 0; col < 28; col++) {
      const x = col - 13.5, y = r - 13.5;
      let srcC = a * x + b * y + 13.5, srcR = c * x + d * y + 13.5;
      if (dx) {
        srcC += dx[r * 28 + col];
        srcR += dy[r * 28 + col];
      }
      const c0 = Math.floor(srcC), r0 = Math.floor(srcR);
      const fc = srcC - c0, fr = srcR - r0;
      const at = (rr, cc) => (rr >= 0 && rr < 28 && cc >= 0 && cc < 28 ? px[rr * 28 + cc] : 0);
      out[r * 28 + col] = (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1)) + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1));
    }
  }
  return out;
}

/**
 * A line of 3-8 digits from `pool` (or of the given digits, each an image of it from the pool),
 * each digit warped by `warp(pixels, g, strength, elastic)` when either is above 0: its columns
 * (W, 28) and labels (1-10 for digits 0-9; 0 is the blank).
 */
export function composeLine(pool, g, strength = 0, digits = null, elastic = 0) {
  const n = digits ? digits.length : 3 + g.int(6);
  // each image drawn from the pool, or, for chosen digits, from its images of that digit
  const pick = (i) => {
    if (!digits) return pool[g.int(pool.length)];
    const of = pool.filter((p) => p.digit === digits[i]);
    return of[g.int(of.length)];
  };
  const parts = Array.from({ length: n }, (_, i) => pick(i))
    .map((p) => (strength > 0 || elastic > 0 ? { digit: p.digit, pixels: warp(p.pixels, g, strength, elastic) } : p));
  const gaps = parts.map((_, i) => (i === 0 ? 2 : -4 + g.int(13)));
  let width = 2;
  const placed = parts.map((p, i) => {
    const [a, b] = inkColumns(p.pixels);
    const x = Math.max(0, width + gaps[i] - (i === 0 ? 2 : 0));
    width = Math.max(width, x + (b - a + 1));
    return { p, a, b, x, dy: g.int(7) - 3 };
  });
  width += 2;
  const cols = new Float32Array(width * 28);
  for (const { p, a, b, x, dy } of placed) {
    for (let c = a; c <= b; c++) {
      for (let r = 0; r < 28; r++) {
        const rr = r + dy;
        if (rr < 0 || rr >= 28) continue;
        const o = (x + c - a) * 28 + rr;
        cols[o] = Math.max(cols[o], p.pixels[r * 28 + c]); // overlapping strokes: the darker wins
      }
    }
  }
  return { cols, width, labels: parts.map((p) => p.digit + 1) };
}

/** A batch of lines, time-major (W, N, 28) padded with blank columns, with lengths and targets. */
export function batchOf(lines) {
  const N = lines.length;
  const T = Math.max(...lines.map((l) => l.width));
  const x = new Float32Array(T * N * 28);
  lines.forEach((l, n) => { for (let t = 0; t < l.width; t++) x.set(l.cols.subarray(t * 28, (t + 1) * 28), (t * N + n) * 28); });
  const S = Math.max(...lines.map((l) => l.labels.length));
  const y = new Int32Array(N * S);
  lines.forEach((l, n) => y.set(l.labels, n * S));
  return { x: tensor(x, [T, N, 28]), lengths: lines.map((l) => l.width), y: tensor(y, [N, S]), targetLengths: lines.map((l) => l.labels.length) };
}
