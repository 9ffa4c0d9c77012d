// Types of bench/workloads.mjs, for the playground's TypeScript.
import type * as Recurrent from '../dist/index.js';

/** A workload: one step of it, and the work a step does. */
export interface Workload {
  unit: string;
  perStep: number;
  step(): void;
}

export function lm(R: typeof Recurrent, kind: 'lstm' | 'gru' | 'rnn' | 'mingru' | 'layernorm_lstm', H: number, layers?: number, T?: number, B?: number): Workload;
export function time(w: Workload, seconds: number): { value: number; unit: string; steps: number; stepMs: number };
