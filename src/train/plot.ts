/**
 * Plots: line charts of losses and of series against forecasts, heatmaps of attention weights,
 * alignments and activations. Each is a Vega-Lite specification built here (lineChartSpec,
 * heatmapSpec), which the CLI renders to SVG (Vega and Vega-Lite loaded when first needed) and a
 * page renders into its own elements: one description of every chart for both.
 */
export interface LinePoint {
  series: string;
  x: number;
  y: number;
}

export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** A logarithmic y axis. */
  logY?: boolean;
  width?: number;
  height?: number;
}

/** The name of a line chart's dataset, for a page that adds points to a live chart. */
export const LINE_DATA = 'points';

/**
 * A Vega-Lite specification of a line chart with one line per series; its data, named
 * LINE_DATA, holds the points.
 */
export function lineChartSpec(points: readonly LinePoint[], o: LineChartOptions): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 640,
    height: o.height ?? 360,
    data: { name: LINE_DATA, values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xTitle },
      y: { field: 'y', type: 'quantitative', title: o.yTitle, scale: o.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } },
    },
  };
}

/** A Vega-Lite specification drawn as SVG text. */
async function toSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** An SVG line chart with one line per series. */
export async function lineChartSvg(points: readonly LinePoint[], o: LineChartOptions): Promise<string> {
  return toSvg(lineChartSpec(points, o));
}

/** One cell of a heatmap: its panel (one small chart per panel), column, row and value. */
export interface HeatCell {
  panel: string;
  x: string;
  y: string;
  value: number;
}

/** Options of `heatmapSvg`. */
export interface HeatmapOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  /** Panels side by side before wrapping (default 2). */
  columns?: number;
  /** Each cell's width and height in pixels, 1-100 (default 16). */
  cell?: number;
  /** The values the colour scale spans (default [0, 1], weights); [-1, 1] for tanh activations. */
  domain?: [number, number];
  /** A Vega colour scheme (default 'blues'; 'redblue' for values of both signs). */
  scheme?: string;
  /** The legend's title (default 'weight'). */
  legend?: string;
}

/**
 * A Vega-Lite specification of heatmaps, one panel per distinct `panel` (attention weights,
 * alignments, activations), rows and columns in the order given.
 */
export function heatmapSpec(cells: readonly HeatCell[], o: HeatmapOptions): Record<string, unknown> {
  // one chart per panel, concatenated (each with its own rows and columns)
  const panels = [...new Set(cells.map((c) => c.panel))];
  const step = o.cell ?? 16;
  if (!(Number.isInteger(step) && step >= 1 && step <= 100)) throw new Error(`heatmapSvg: cell must be a whole number of pixels in [1, 100], got ${String(o.cell)}`);
  const domain = o.domain ?? [0, 1];
  if (!(Array.isArray(domain) && domain.length === 2 && domain.every(Number.isFinite) && domain[0] < domain[1])) {
    throw new Error(`heatmapSvg: domain must be [low, high] with low < high, got ${JSON.stringify(o.domain)}`);
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    columns: o.columns ?? 2,
    concat: panels.map((p) => ({
      title: p,
      data: { values: cells.filter((c) => c.panel === p).map((c) => ({ ...c })) },
      width: { step },
      height: { step },
      mark: 'rect',
      encoding: {
        x: { field: 'x', type: 'ordinal', title: o.xTitle, sort: null },
        y: { field: 'y', type: 'ordinal', title: o.yTitle, sort: null },
        color: { field: 'value', type: 'quantitative', scale: { scheme: o.scheme ?? 'blues', domain }, title: o.legend ?? 'weight' },
      },
    })),
  };
}

/** An SVG of heatmaps, one panel per distinct `panel` (attention weights, alignments), rows and columns in the order given. */
export async function heatmapSvg(cells: readonly HeatCell[], o: HeatmapOptions): Promise<string> {
  return toSvg(heatmapSpec(cells, o));
}
