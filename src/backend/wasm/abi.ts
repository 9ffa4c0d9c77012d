/**
 * The kernels' argument blocks, records and control words, as the build writes them from
 * kernels/abi.ts (abi.generated.ts), and a block filled in by slot names.
 */
export { Rec, CellKernel, GenLayer, Scan, Linear, Packed, Batched, Variant, VariantKind, Ctc, Attn, Dec, Rows, Ctrl } from './abi.generated.js';

/** An argument block (or record) of a kernel: each named slot's value, every other slot 0. */
export function block<E extends { readonly COUNT: number }>(layout: E, values: Partial<Record<Exclude<keyof E, 'COUNT'>, number>>): number[] {
  const out = new Array<number>(layout.COUNT).fill(0);
  for (const [name, v] of Object.entries(values) as [string, number][]) out[(layout as unknown as Record<string, number>)[name]!] = v;
  return out;
}
