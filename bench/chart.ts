// The benchmark's picture: a grid of small line charts (throughput or p99
// latency against concurrency, say) as one standalone SVG document, with one
// legend and one colour per series name across every panel. It carries its
// own white background so it reads the same on light and dark pages. Pure:
// the same panels give the same bytes.

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface ChartSeries {
  readonly name: string;
  /** Points with a non-finite coordinate, one beyond ±1e300, or x ≤ 0 on a log axis are left out. */
  readonly points: readonly ChartPoint[];
  readonly dashed?: boolean;
}

export interface ChartPanel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** A logarithmic x axis, ticked at the x values measured (concurrency 1, 16, 64). */
  readonly logX?: boolean;
}

export interface ChartOptions {
  /** Panels per row; 2 by default. */
  readonly columns?: number;
  readonly title?: string;
}

// Okabe–Ito: told apart with the common colour-vision deficiencies, and dark enough on white.
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#8c8c8c'];
const PANEL = { width: 340, height: 230, left: 60, right: 16, top: 30, bottom: 44 };
const MARGIN = 12;
const CHAR_WIDTH = 7; // a rough advance of 12px sans-serif, to lay the legend out
const TEXT = '#222222';
const GRID = '#e3e3e3';
// Beyond this, spans between values can overflow to Infinity.
const LARGEST = 1e300;

interface Style {
  readonly colour: string;
  readonly dashed: boolean;
}

export function renderChart(panels: readonly ChartPanel[], options: ChartOptions = {}): string {
  const requested = Math.floor(options.columns ?? 2);
  const columns = Number.isFinite(requested) && requested >= 1 ? requested : 2;
  const styles = assignStyles(panels);
  const width = 2 * MARGIN + Math.max(1, Math.min(columns, panels.length)) * PANEL.width;
  const body: string[] = [];
  let top = MARGIN;
  if (options.title !== undefined) {
    body.push(text(width / 2, top + 14, options.title, 'middle', 'font-size="16" font-weight="bold"'));
    top += 28;
  }
  top = renderLegend(styles, width, top, body);
  panels.forEach((panel, i) => {
    const left = MARGIN + (i % columns) * PANEL.width;
    body.push(renderPanel(panel, styles, left, top + Math.floor(i / columns) * PANEL.height));
  });
  const height = top + Math.ceil(panels.length / columns) * PANEL.height + MARGIN;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="${TEXT}">`,
    ...(options.title === undefined ? [] : [`<title>${escapeXml(options.title)}</title>`]),
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Ticks 1, 2 or 5 × 10ⁿ apart, about `count` of them, covering lo..hi. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) [lo, hi] = [lo - (Math.abs(lo) / 2 || 1), hi + (Math.abs(hi) / 2 || 1)];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const step = ([1, 2, 5].find((m) => fraction <= m * (1 + 1e-9)) ?? 10) * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // toPrecision drops the binary noise of i × step (0.30000000000000004); counting k rather
  // than i keeps the loop finite where i is too large for i + 1 to differ from it.
  for (let k = 0; k <= last - first && k <= 2 * count + 2; k++) ticks.push(Number(((first + k) * step).toPrecision(12)));
  return ticks.length > 1 && ticks[0] !== ticks.at(-1) ? ticks : [lo, hi];
}

/** The colour of each series name, in order of first appearance, so a name looks the same in every panel. */
function assignStyles(panels: readonly ChartPanel[]): Map<string, Style> {
  const styles = new Map<string, Style>();
  for (const series of panels.flatMap((panel) => panel.series)) {
    if (!styles.has(series.name)) styles.set(series.name, { colour: PALETTE[styles.size % PALETTE.length] as string, dashed: series.dashed === true });
  }
  return styles;
}

function renderLegend(styles: Map<string, Style>, width: number, top: number, body: string[]): number {
  if (styles.size === 0) return top;
  let x = MARGIN + 8;
  let y = top + 8;
  for (const [name, style] of styles) {
    const itemWidth = 30 + name.length * CHAR_WIDTH + 18;
    if (x + itemWidth > width - MARGIN && x > MARGIN + 8) [x, y] = [MARGIN + 8, y + 20];
    body.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" ${stroke(style)}/>`, text(x + 30, y, name, 'start', 'dominant-baseline="middle"'));
    x += itemWidth;
  }
  return y + 16;
}

function renderPanel(panel: ChartPanel, styles: Map<string, Style>, left: number, top: number): string {
  const [x0, x1, y0, y1] = [PANEL.left, PANEL.width - PANEL.right, PANEL.height - PANEL.bottom, PANEL.top];
  const onAxis = (x: number) => (panel.logX ? Math.log10(x) : x);
  const usable = (v: number) => Number.isFinite(v) && Math.abs(v) <= LARGEST;
  const lines = panel.series.map((series) => ({
    series,
    points: series.points
      .map((p) => ({ x: p.x, u: onAxis(p.x), y: p.y }))
      .filter((p) => usable(p.u) && usable(p.y))
      .sort((a, b) => a.u - b.u),
  }));
  const points = lines.flatMap((line) => line.points);
  const out = [`<g class="panel" transform="translate(${left} ${top})">`, text((x0 + x1) / 2, 16, panel.title, 'middle', 'font-weight="bold"')];
  out.push(
    text((x0 + x1) / 2, PANEL.height - 8, panel.xLabel, 'middle'),
    text(14, (y0 + y1) / 2, panel.yLabel, 'middle', `transform="rotate(-90 14 ${num((y0 + y1) / 2)})"`),
  );
  if (points.length === 0) {
    out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="${GRID}"/>`);
    out.push(text((x0 + x1) / 2, (y0 + y1) / 2, 'no data', 'middle', 'dominant-baseline="middle" fill="#767676"'), '</g>');
    return out.join('\n');
  }

  const [uMin, uMax] = [Math.min(...points.map((p) => p.u)), Math.max(...points.map((p) => p.u))];
  const xTicks = panel.logX ? logTicks(points.map((p) => p.x)) : niceTicks(uMin, uMax);
  const [uLo, uHi] = panel.logX ? padded(uMin, uMax) : [xTicks[0] as number, xTicks.at(-1) as number];
  // Both of the benchmark's quantities count from zero: a y axis that does too does not exaggerate a difference.
  const yLo = Math.min(0, ...points.map((p) => p.y));
  const yHi = Math.max(0, ...points.map((p) => p.y));
  const yTicks = niceTicks(yLo, yHi > yLo ? yHi : yLo + 1);
  const [vLo, vHi] = [yTicks[0] as number, yTicks.at(-1) as number];
  const px = (u: number) => x0 + ((u - uLo) / (uHi - uLo)) * (x1 - x0);
  const py = (v: number) => y0 - ((v - vLo) / (vHi - vLo)) * (y0 - y1);

  const yLabels = formatTicks(yTicks);
  yTicks.forEach((tick, i) => {
    out.push(`<line x1="${x0}" y1="${num(py(tick))}" x2="${x1}" y2="${num(py(tick))}" stroke="${GRID}"/>`);
    out.push(text(x0 - 6, py(tick), yLabels[i] as string, 'end', 'class="tick-y" dominant-baseline="middle"'));
  });
  const xLabels = formatTicks(xTicks);
  xTicks.forEach((tick, i) => {
    const x = px(onAxis(tick));
    out.push(`<line x1="${num(x)}" y1="${y1}" x2="${num(x)}" y2="${y0}" stroke="${GRID}"/>`);
    out.push(text(x, y0 + 16, xLabels[i] as string, 'middle', 'class="tick-x"'));
  });
  out.push(`<path d="M${x0} ${y1}V${y0}H${x1}" fill="none" stroke="#555555"/>`);
  // The first series (roost, say) is drawn last, so nothing hides it.
  for (const { series, points } of lines.toReversed()) {
    const style = styles.get(series.name) as Style;
    out.push(`<g class="series" data-name="${escapeXml(series.name)}">`);
    const coordinates = points.map((p) => `${num(px(p.u))},${num(py(p.y))}`);
    if (coordinates.length > 1) out.push(`<polyline points="${coordinates.join(' ')}" fill="none" ${stroke({ ...style, dashed: series.dashed === true })}/>`);
    for (const p of points) out.push(`<circle cx="${num(px(p.u))}" cy="${num(py(p.y))}" r="3" fill="${style.colour}"/>`);
    out.push('</g>');
  }
  out.push('</g>');
  return out.join('\n');
}

/** Log-axis ticks: the x values themselves when few (concurrency levels), else 1-2-5 in each decade. */
function logTicks(xs: readonly number[]): number[] {
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  if (distinct.length <= 8) return distinct;
  const [lo, hi] = [distinct[0] as number, distinct.at(-1) as number];
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(lo)); power <= Math.ceil(Math.log10(hi)); power++) {
    for (const m of hi / lo > 1000 ? [1] : [1, 2, 5]) {
      const tick = Number((m * 10 ** power).toPrecision(12));
      if (tick >= lo && tick <= hi) ticks.push(tick);
    }
  }
  return ticks.length >= 2 ? ticks : [lo, hi];
}

/** A little room either side of the outermost values of a log axis, and half a decade each way around a single value. */
function padded(lo: number, hi: number): [number, number] {
  const pad = hi > lo ? (hi - lo) * 0.04 : 0.5;
  return [lo - pad, hi + pad];
}

/** Labels for one axis's ticks, all in one unit: 0, 5k, 10k rather than 0, 5000, 10k. */
function formatTicks(ticks: readonly number[]): string[] {
  const largest = Math.max(...ticks.map(Math.abs));
  const [divisor, suffix] = largest >= 1e6 && largest < 1e15 ? [1e6, 'M'] : largest >= 1e4 && largest < 1e15 ? [1e3, 'k'] : [1, ''];
  return ticks.map((tick) => `${Number((tick / divisor).toPrecision(6))}${tick === 0 ? '' : suffix}`);
}

function stroke(style: Style): string {
  return `stroke="${style.colour}" stroke-width="2"${style.dashed ? ' stroke-dasharray="6 4"' : ''}`;
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end', extra = ''): string {
  return `<text x="${num(x)}" y="${num(y)}" text-anchor="${anchor}"${extra ? ` ${extra}` : ''}>${escapeXml(content)}</text>`;
}

/** A coordinate to a tenth of a pixel: short, and the same bytes for the same input. */
function num(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function escapeXml(value: string): string {
  // XML 1.0 (§2.2) has no way to write these control characters, even escaped
  return value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}
