// A 7-day usage sparkline as inline SVG, drawn with SVG attributes only (no style attributes).
import { svg } from '../dom.ts';

export function sparkline(values: number[] | undefined): SVGSVGElement {
  const series = values && values.length > 0 ? values : [0, 0, 0, 0, 0, 0, 0];
  const width = 84;
  const height = 22;
  const max = Math.max(1, ...series);
  const step = series.length > 1 ? width / (series.length - 1) : width;
  const points = series.map((value, i) => `${(i * step).toFixed(1)},${(height - 2 - (value / max) * (height - 4)).toFixed(1)}`).join(' ');
  const total = series.reduce((a, b) => a + b, 0);
  return svg(
    'svg',
    {
      class: 'sparkline',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `Tokens issued over 7 days: ${series.join(', ')} (total ${total})`,
    },
    svg('polyline', { points, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5, 'stroke-linejoin': 'round' }),
  );
}
