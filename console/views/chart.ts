/**
 * A time-series chart with uPlot (canvas; it sets styles through the CSSOM, which the console's
 * CSP allows, not through style attributes). Drawn after the page's template is in the document.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  readonly label: string;
  /** A colour with at least 3:1 contrast on white (WCAG 2.1 SC 1.4.11). */
  readonly stroke: string;
  readonly values: Array<number | null>;
}

export interface ChartData {
  /** Seconds since the epoch. */
  readonly times: number[];
  readonly series: Series[];
}

/** Draws into the element with `id` once it exists; the chart is described by its table for screen readers. */
export function drawChart(id: string, data: ChartData, unit: string): void {
  requestAnimationFrame(() => {
    const host = document.getElementById(id);
    if (host === null || data.times.length === 0) {
      return;
    }
    host.replaceChildren();
    const width = Math.max(280, Math.min(host.clientWidth || 640, 900));
    new uPlot(
      {
        width,
        height: 260,
        series: [{ label: 'Datum' }, ...data.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: true, points: { show: true, size: 7 } }))],
        axes: [{}, { label: unit }],
        scales: { x: { time: true } },
      },
      [data.times, ...data.series.map((s) => s.values)],
      host
    );
  });
}
