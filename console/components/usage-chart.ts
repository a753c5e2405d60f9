// A key's usage per hour or day: issued tokens and denials as stacked bars, in SVG built with DOM
// calls. A table below it carries the same numbers for screen readers and exact reading.
import { h, svg } from '../dom.ts';
import type { Usage } from '../types.ts';

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

export function usageChart(usage: Usage): HTMLElement {
  const width = 720;
  const height = 180;
  const pad = 24;
  const points = usage.series;
  const max = Math.max(1, ...points.map((p) => p.issued + sum(p.denied)));
  const barWidth = (width - pad) / Math.max(1, points.length);
  const scale = (value: number) => (value / max) * (height - pad);
  const bars = points.flatMap((p, i) => {
    const denied = sum(p.denied);
    const x = pad + i * barWidth + 1;
    const w = Math.max(1, barWidth - 2);
    return [
      svg('rect', {
        class: 'bar-issued',
        x: x.toFixed(1),
        y: (height - pad - scale(p.issued)).toFixed(1),
        width: w.toFixed(1),
        height: scale(p.issued).toFixed(1),
      }),
      svg('rect', {
        class: 'bar-denied',
        x: x.toFixed(1),
        y: (height - pad - scale(p.issued) - scale(denied)).toFixed(1),
        width: w.toFixed(1),
        height: scale(denied).toFixed(1),
      }),
    ];
  });
  const totals = points.reduce(
    (t, p) => ({
      issued: t.issued + p.issued,
      denied: t.denied + sum(p.denied),
      active: t.active + p.introspection.active,
      inactive: t.inactive + p.introspection.inactive,
    }),
    { issued: 0, denied: 0, active: 0, inactive: 0 },
  );
  const deniedBy: Record<string, number> = {};
  for (const p of points) for (const [reason, count] of Object.entries(p.denied)) deniedBy[reason] = (deniedBy[reason] ?? 0) + count;
  return h(
    'figure',
    { class: 'usage' },
    svg(
      'svg',
      {
        class: 'usage-chart',
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': `Issued ${totals.issued}, denied ${totals.denied} over ${usage.window}`,
      },
      svg('line', { x1: pad, y1: height - pad, x2: width, y2: height - pad, class: 'axis' }),
      svg('text', { x: 0, y: 12, class: 'axis-label' }, String(max)),
      svg('text', { x: 0, y: height - pad, class: 'axis-label' }, '0'),
      ...bars,
    ),
    h(
      'figcaption',
      {},
      h('span', { class: 'legend legend-issued' }, `Issued ${totals.issued}`),
      h('span', { class: 'legend legend-denied' }, `Denied ${totals.denied}`),
      ...Object.entries(deniedBy)
        .filter(([, count]) => count > 0)
        .map(([reason, count]) => h('span', { class: 'legend' }, `${reason.replace(/_/g, ' ')} ${count}`)),
      h('span', { class: 'legend' }, `Introspection: active ${totals.active}, inactive ${totals.inactive}`),
    ),
  );
}
