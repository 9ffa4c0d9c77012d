// Types of examples/digit-lines.mjs, for the playground's TypeScript.
import type { Generator, Tensor } from '../dist/index.js';

/** An MNIST image: its digit and 784 pixels in [0, 1], row by row. */
export interface DigitImage {
  digit: number;
  pixels: Float32Array;
}

/** A line of digits: its columns (width, 28), its width and its labels (1-10 for digits 0-9). */
export interface DigitLine {
  cols: Float32Array;
  width: number;
  labels: number[];
}

export function splitDigits(images: readonly DigitImage[]): { trainImages: DigitImage[]; testImages: DigitImage[] };
export function warp(px: Float32Array, g: Generator, strength: number, elastic?: number): Float32Array;
export function composeLine(pool: readonly DigitImage[], g: Generator, strength?: number, digits?: readonly number[] | null, elastic?: number): DigitLine;
export function batchOf(lines: readonly DigitLine[]): { x: Tensor; lengths: number[]; y: Tensor; targetLengths: number[] };
