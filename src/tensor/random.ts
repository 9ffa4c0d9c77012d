/**
 * The seeded random generator every random thing in the library draws from
 * (initialisation, dropout, `randn`, shuffling, sampling). xoshiro128** seeded through
 * splitmix32; normals by Box-Muller. Its whole state can be read and restored, so a
 * checkpoint can resume a run exactly.
 */
export interface GeneratorState {
  s: [number, number, number, number];
  spare: number | null;
}

/** A seeded random stream; see the module comment. `new Generator(seed)` for one of your own. */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0x5eed) {
    this.seed(seed);
  }

  /**
   * Resets the stream; the same seed always gives the same numbers. Seeds are integers in
   * [0, 2^53), and every one of them starts its own stream.
   */
  seed(seed: number): void {
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new Error(`manualSeed: seed must be an integer from 0 to 2^53 - 1, got ${String(seed)}`);
    }
    // splitmix32 over the low 32 bits; the high 21 bits, when set, go through a splitmix32 stream
    // of their own into every word (seeds below 2^32 keep the streams they always had)
    const high = Math.floor(seed / 4294967296);
    let x = seed >>> 0;
    let y = high;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      this.s[i] = mix32(x);
      if (high !== 0) {
        y = (y + 0x7f4a7c15) | 0;
        this.s[i] ^= mix32(y ^ 0x6a09e667);
      }
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
    this.spare = null;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] ^= s[0]!;
    s[3] ^= s[1]!;
    s[1] ^= s[2]!;
    s[0] ^= s[3]!;
    s[2] ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1), 53 bits of precision. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal draw. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer uniform in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new Error(`Generator.int: n must be >= 1, got ${n}`);
    return Math.floor(this.random() * n);
  }

  getState(): GeneratorState {
    return { s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spare: this.spare };
  }

  setState(state: GeneratorState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4 || state.s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new Error('Generator.setState: state.s must be four unsigned 32-bit integers');
    }
    this.s.set(state.s);
    this.spare = state.spare ?? null;
  }
}

/** splitmix32's finaliser: a bijection of 32-bit integers that spreads every bit. */
function mix32(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The library-wide default generator. */
export const defaultGenerator = new Generator();

/** Seeds the default generator, like `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
