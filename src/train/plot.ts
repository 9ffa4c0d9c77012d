/**
 * Plots as SVG, drawn by Vega-Lite (loaded when first needed): line charts of losses and of
 * series against forecasts, heatmaps of attention weights and alignments.
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

/** An SVG line chart with one line per series. */
export async function lineChartSvg(points: readonly LinePoint[], o: LineChartOptions): Promise<string> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 640,
    height: o.height ?? 360,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line' as const, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: o.xTitle },
      y: { field: 'y', type: 'quantitative' as const, title: o.yTitle, scale: o.logY ? { type: 'log' as const } : { zero: false } },
      color: { field: 'series', type: 'nominal' as const, title: null, legend: { orient: 'top' as const } },
    },
  };
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
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
}

/** An SVG of heatmaps, one panel per distinct `panel` (attention weights, alignments), rows and columns in the order given. */
export async function heatmapSvg(cells: readonly HeatCell[], o: HeatmapOptions): Promise<string> {
  const vega = await import('vega');
  const { compile } = await import('vega-lite');
  // one chart per panel, concatenated (each with its own rows and columns)
  const panels = [...new Set(cells.map((c) => c.panel))];
  const step = o.cell ?? 16;
  if (!(Number.isInteger(step) && step >= 1 && step <= 100)) throw new Error(`heatmapSvg: cell must be a whole number of pixels in [1, 100], got ${String(o.cell)}`);
  const spec = {
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
        color: { field: 'value', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'weight' },
      },
    })),
  };
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
