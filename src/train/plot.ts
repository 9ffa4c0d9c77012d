/**
 * Plots as SVG, drawn by Vega-Lite (loaded when first needed): line charts of losses and of
 * series against forecasts.
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
