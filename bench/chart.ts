/**
 * The chart: latency-by-percentile curves (sequential, concurrent, session set-up), throughput bars
 * and the gateway's memory with idle sessions, as one vega spec rendered to SVG (view.toSVG) and then to PNG (resvg).
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import type { Results } from './report.js';

const W = 400;
const H = 230;
const GAP_X = 90;
const GAP_Y = 85;

type Row = Record<string, string | number>;

function curvePanel(name: string, title: string, data: string, x: number, y: number): vega.GroupMark {
  return {
    type: 'group',
    name,
    encode: { enter: { x: { value: x }, y: { value: y }, width: { value: W }, height: { value: H } } },
    title: { text: title, anchor: 'start', fontSize: 13 },
    scales: [
      {
        name: 'x',
        type: 'linear',
        domain: { data, field: 'nines' },
        range: [0, W],
        zero: true,
        nice: false,
      },
      { name: 'y', type: 'log', domain: { data, field: 'ms' }, range: [H, 0], nice: true, zero: false },
    ],
    axes: [
      {
        orient: 'bottom',
        scale: 'x',
        values: [0, Math.log10(2), 1, 2, 3, 4],
        title: 'percentile',
        grid: true,
        gridOpacity: 0.3,
        encode: {
          labels: {
            update: {
              text: {
                signal: "datum.value === 0 ? 'min' : 'p' + format(100 - 100 * pow(10, -datum.value), '.4~f')",
              },
            },
          },
        },
      },
      { orient: 'left', scale: 'y', title: 'latency (ms, log)', grid: true, gridOpacity: 0.3, format: '~g' },
    ],
    marks: [
      {
        type: 'group',
        from: { facet: { name: `${name}-series`, data, groupby: 'target' } },
        marks: [
          {
            type: 'line',
            from: { data: `${name}-series` },
            encode: {
              enter: {
                x: { scale: 'x', field: 'nines' },
                y: { scale: 'y', field: 'ms' },
                stroke: { scale: 'color', field: 'target' },
                strokeWidth: { value: 2 },
              },
            },
          },
        ],
      },
    ],
  };
}

interface Bars {
  readonly title: string;
  /** The data set: rows of { target, group, value }. */
  readonly data: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly format: string;
}

function barPanel(bars: Bars, x: number, y: number): vega.GroupMark {
  const { data } = bars;
  return {
    type: 'group',
    encode: { enter: { x: { value: x }, y: { value: y }, width: { value: W }, height: { value: H } } },
    title: { text: bars.title, anchor: 'start', fontSize: 13 },
    scales: [
      { name: 'x', type: 'band', domain: { data, field: 'group' }, range: [0, W], padding: 0.2 },
      { name: 'y', type: 'linear', domain: { data, field: 'value' }, range: [H, 0], nice: true },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: bars.xTitle },
      { orient: 'left', scale: 'y', title: bars.yTitle, grid: true, gridOpacity: 0.3, format: bars.format },
    ],
    marks: [
      {
        type: 'group',
        from: { facet: { name: `${data}-bars`, data, groupby: 'group' } },
        encode: { enter: { x: { scale: 'x', field: 'group' }, width: { scale: 'x', band: 1 } } },
        signals: [{ name: 'width', update: "bandwidth('x')" }],
        scales: [
          { name: 'inner', type: 'band', range: 'width', domain: { data: `${data}-bars`, field: 'target' } },
        ],
        marks: [
          {
            type: 'rect',
            from: { data: `${data}-bars` },
            encode: {
              enter: {
                x: { scale: 'inner', field: 'target' },
                width: { scale: 'inner', band: 1, offset: -1 },
                y: { scale: 'y', field: 'value' },
                y2: { scale: 'y', value: 0 },
                fill: { scale: 'color', field: 'target' },
              },
            },
          },
        ],
      },
    ],
  };
}

export function chartSpec(results: Results): vega.Spec {
  const names = results.targets.map((t) => t.name);
  const curves: Row[] = [];
  const throughput: Row[] = [];
  const memory: Row[] = [];
  const middle = results.settings.concurrency[Math.floor(results.settings.concurrency.length / 2)];
  for (const t of results.targets) {
    for (const p of t.curves.sequential ?? []) curves.push({ target: t.name, panel: 'sequential', ...p });
    for (const p of t.curves.setup ?? []) curves.push({ target: t.name, panel: 'setup', ...p });
    for (const p of t.curves.concurrent?.[String(middle)] ?? [])
      curves.push({ target: t.name, panel: 'concurrent', ...p });
    for (const c of t.concurrent ?? [])
      throughput.push({ target: t.name, group: String(c.sessions), value: c.callsPerSecond });
    for (const m of t.memory ?? [])
      memory.push({ target: t.name, group: `${m.sessions}`, value: m.rssBytes / 2 ** 20 });
    if (t.manyIdle)
      memory.push({
        target: t.name,
        group: `${t.manyIdle.sessions} (no GET)`,
        value: t.manyIdle.rssBytes / 2 ** 20,
      });
  }
  const panels: vega.Mark[] = [];
  const data: vega.Data[] = [
    { name: 'curves', values: curves },
    { name: 'throughput', values: throughput },
    { name: 'memory', values: memory },
  ];
  const slots = [
    { x: 0, y: 0 },
    { x: W + GAP_X, y: 0 },
    { x: 0, y: H + GAP_Y },
    { x: W + GAP_X, y: H + GAP_Y },
    { x: 0, y: 2 * (H + GAP_Y) },
    { x: W + GAP_X, y: 2 * (H + GAP_Y) },
  ];
  const add = (panel: string, title: string) => {
    if (!curves.some((c) => c.panel === panel)) return;
    const slot = slots[panels.length] as { x: number; y: number };
    data.push({
      name: panel,
      source: 'curves',
      transform: [{ type: 'filter', expr: `datum.panel === '${panel}'` }],
    });
    panels.push(curvePanel(`${panel}-panel`, title, panel, slot.x, slot.y));
  };
  add('sequential', `Sequential echo: latency by percentile (${results.settings.calls} calls)`);
  add('concurrent', `Concurrent echo, ${middle} sessions: latency by percentile`);
  add('setup', `Session set-up (initialize + first call): latency by percentile`);
  const bars = (rows: readonly Row[], spec: Bars) => {
    if (rows.length === 0) return;
    const slot = slots[panels.length] as { x: number; y: number };
    panels.push(barPanel(spec, slot.x, slot.y));
  };
  bars(throughput, {
    title: 'Concurrent echo: throughput',
    data: 'throughput',
    xTitle: 'concurrent sessions',
    yTitle: 'calls / s',
    format: ',d',
  });
  bars(memory, {
    title: 'Gateway RSS with idle sessions (fresh instance)',
    data: 'memory',
    xTitle: 'idle sessions',
    yTitle: 'RSS (MiB)',
    format: ',d',
  });
  const rows = Math.ceil(panels.length / 2);
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: panels.length > 1 ? 2 * W + GAP_X : W,
    height: rows * H + (rows - 1) * GAP_Y,
    padding: { left: 20, right: 20, top: 50, bottom: 20 },
    background: 'white',
    title: {
      text: `MCP gateways in front of server-everything — ${results.date.slice(0, 10)}, ${results.machine.cores} × ${results.machine.cpu}, Node ${results.machine.node}`,
      anchor: 'start',
      fontSize: 14,
      offset: 30,
    },
    data,
    scales: [{ name: 'color', type: 'ordinal', domain: names, range: { scheme: 'category10' } }],
    legends: [
      {
        fill: 'color',
        orient: 'top',
        direction: 'horizontal',
        labelFontSize: 12,
        labelLimit: 0,
        columns: 5,
        symbolType: 'square',
        symbolSize: 150,
      },
    ],
    marks: panels,
  };
}

export async function renderPng(results: Results): Promise<Buffer> {
  const view = new vega.View(vega.parse(chartSpec(results)), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    fitTo: { mode: 'width', value: 1000 },
  })
    .render()
    .asPng();
}
