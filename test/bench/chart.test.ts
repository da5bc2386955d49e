// The benchmark's chart is one well-formed SVG document whatever the numbers:
// every panel and series named, every label escaped, a higher value drawn
// higher, concurrency spaced by its logarithm, ticks 1, 2 or 5 × 10ⁿ apart,
// one colour per series name, and only finite coordinates even from missing
// or broken measurements.
import fc from 'fast-check';
import t from 'tap';
import { niceTicks, renderChart, type ChartPanel, type ChartSeries } from '../../bench/chart.js';

interface Element {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: Element[];
  text: string;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five named entities and character references; a bare & is an error. */
function decode(raw: string): string {
  const decoded = raw.replace(/&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name?: string, dec?: string, hex?: string) =>
    name ? (NAMED[name] as string) : String.fromCodePoint(dec ? Number(dec) : parseInt(hex as string, 16)),
  );
  if (/&/.test(raw.replace(/&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, ''))) throw new Error(`a bare & in ${raw}`);
  return decoded;
}

/** Enough of XML 1.0 to refuse what is not well-formed: one root, balanced tags, quoted unique attributes, no bare < or &. */
function parseXml(source: string): Element {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(source)) throw new Error('a character XML cannot hold');
  const token = /<!--(?:(?!--)[\s\S])*-->|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|[^<]+/y;
  const document: Element = { name: '#document', attributes: {}, children: [], text: '' };
  const open = [document];
  while (token.lastIndex < source.length) {
    const at = token.lastIndex;
    const match = token.exec(source);
    if (!match) throw new Error(`not well-formed at ${at}: ${source.slice(at, at + 40)}`);
    const [whole, closing, name, attributes = '', selfClosing] = match;
    const parent = open.at(-1) as Element;
    if (whole.startsWith('<!--')) continue;
    if (name === undefined) {
      if (parent === document && whole.trim() !== '') throw new Error('text outside the root element');
      parent.text += decode(whole);
    } else if (closing) {
      if (attributes !== '' || selfClosing || parent.name !== name) throw new Error(`</${name}> closes <${parent.name}>`);
      open.pop();
    } else {
      if (parent === document && document.children.length > 0) throw new Error('a second root element');
      const element: Element = { name, attributes: {}, children: [], text: '' };
      for (const [, key, value] of attributes.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if ((key as string) in element.attributes) throw new Error(`attribute ${key} twice`);
        element.attributes[key as string] = decode(value ?? '');
      }
      parent.children.push(element);
      if (!selfClosing) open.push(element);
    }
  }
  if (open.length !== 1 || document.children.length !== 1) throw new Error('unclosed elements, or no root element');
  return document.children[0] as Element;
}

function all(element: Element, keep: (e: Element) => boolean): Element[] {
  return [...(keep(element) ? [element] : []), ...element.children.flatMap((child) => all(child, keep))];
}
const texts = (root: Element) => all(root, (e) => e.name === 'text').map((e) => e.text);
const panelTitled = (root: Element, title: string) =>
  all(root, (e) => e.attributes.class === 'panel').find((p) => p.children.some((c) => c.name === 'text' && c.text === title)) as Element;
const seriesIn = (panel: Element, name: string) => all(panel, (e) => e.attributes.class === 'series' && e.attributes['data-name'] === name)[0] as Element;
const circles = (group: Element) => all(group, (e) => e.name === 'circle').map((c) => ({ x: Number(c.attributes.cx), y: Number(c.attributes.cy) }));
const ticks = (panel: Element, axis: 'x' | 'y') => all(panel, (e) => e.attributes.class === `tick-${axis}`);

const series = (name: string, points: [number, number][], dashed?: boolean): ChartSeries => ({ name, points: points.map(([x, y]) => ({ x, y })), dashed });
const panel = (title: string, list: ChartSeries[], logX?: boolean): ChartPanel => ({ title, xLabel: 'concurrency', yLabel: 'operations/s', series: list, logX });

t.test('one SVG document on a white background, naming every panel, axis and series', async (t) => {
  const svg = renderChart(
    [
      panel('sign-in: throughput', [series('roost', [[1, 900], [16, 5200], [64, 5600]]), series('bare node:http', [[1, 9000], [64, 33000]], true)], true),
      { ...panel('sign-in: p99', [series('roost', [[1, 2], [16, 3], [64, 8]])], true), yLabel: 'p99 (ms)' },
    ],
    { title: 'roost against its floor' },
  );
  const root = parseXml(svg);
  t.equal(root.name, 'svg');
  t.equal(root.attributes.xmlns, 'http://www.w3.org/2000/svg');
  const background = root.children.find((c) => c.name === 'rect');
  t.match(background?.attributes, { fill: '#ffffff', width: root.attributes.width, height: root.attributes.height }, 'the background fills the picture');
  for (const label of ['roost against its floor', 'sign-in: throughput', 'sign-in: p99', 'concurrency', 'operations/s', 'p99 (ms)', 'roost', 'bare node:http']) {
    t.ok(texts(root).includes(label), `shows ${label}`);
  }
  const throughput = panelTitled(root, 'sign-in: throughput');
  t.equal(circles(seriesIn(throughput, 'roost')).length, 3);
  t.equal(circles(seriesIn(throughput, 'bare node:http')).length, 2);
  const dashes = all(root, (e) => e.attributes['stroke-dasharray'] !== undefined);
  t.equal(dashes.length, 2, 'the dashed series, in its panel and in the legend');
  t.equal(renderChart([panel('a', [series('roost', [[1, 2]])])]), renderChart([panel('a', [series('roost', [[1, 2]])])]), 'the same panels give the same bytes');
});

t.test('every label is escaped, and characters XML cannot hold are dropped', async (t) => {
  const hostile = `a < b & "c" > 'd'`;
  const svg = renderChart([{ title: hostile, xLabel: `x & ${hostile}`, yLabel: `</text>${hostile}`, series: [series(`<script>&"x"\u0001`, [[1, 1], [2, 2]])] }], {
    title: `<b>${hostile}</b>`,
  });
  t.notMatch(svg, /<script>|<b>|\u0001/);
  const root = parseXml(svg);
  for (const label of [hostile, `x & ${hostile}`, `</text>${hostile}`, `<script>&"x"`, `<b>${hostile}</b>`]) t.ok(texts(root).includes(label), label);
  t.ok(all(root, (e) => e.attributes['data-name'] === `<script>&"x"`).length === 1, 'an attribute value too');
  t.throws(() => parseXml('<svg><text>a & b</text></svg>'), /bare &/, 'the check refuses a bare &');
  t.throws(() => parseXml('<svg><text>a < b</text></svg>'), /not well-formed/, 'and a bare <');
  t.throws(() => parseXml('<svg><g></svg>'), /closes/, 'and unbalanced tags');
});

t.test('a higher value is drawn higher, level with its tick', async (t) => {
  const root = parseXml(renderChart([panel('p', [series('roost', [[1, 10], [2, 100], [3, 50], [4, 0]])])]));
  const [ten, hundred, fifty, zero] = circles(seriesIn(panelTitled(root, 'p'), 'roost')) as { x: number; y: number }[];
  t.ok(hundred!.y < fifty!.y && fifty!.y < ten!.y && ten!.y < zero!.y, 'SVG y grows downwards, values upwards');
  t.ok(ten!.x < hundred!.x && hundred!.x < fifty!.x && fifty!.x < zero!.x, 'x grows rightwards');
  const tickAt = (label: string) => Number(ticks(panelTitled(root, 'p'), 'y').find((e) => e.text === label)?.attributes.y);
  t.equal(hundred!.y, tickAt('100'));
  t.equal(zero!.y, tickAt('0'));
  t.ok(Math.abs(fifty!.y - (tickAt('40') + tickAt('60')) / 2) < 0.2, '50 halfway between 40 and 60');
});

t.test('a log x axis spaces concurrency by its logarithm and ticks the levels measured', async (t) => {
  const points: [number, number][] = [[1, 5], [16, 5], [64, 5]];
  const spacing = (logX: boolean) => {
    const drawn = parseXml(renderChart([panel('p', [series('roost', points)], logX)]));
    const [one, sixteen, sixtyFour] = circles(seriesIn(panelTitled(drawn, 'p'), 'roost')).map((c) => c.x) as number[];
    return { ratio: (sixteen! - one!) / (sixtyFour! - sixteen!), labels: ticks(panelTitled(drawn, 'p'), 'x').map((e) => e.text) };
  };
  const log = spacing(true);
  t.ok(Math.abs(log.ratio - 2) < 0.02, `log 16 / log 4 = 2, got ${log.ratio}`);
  t.same(log.labels, ['1', '16', '64']);
  const linear = spacing(false);
  t.ok(Math.abs(linear.ratio - 15 / 48) < 0.01, `15 / 48 on a linear axis, got ${linear.ratio}`);
  t.same(linear.labels, ['0', '20', '40', '60', '80']);
});

t.test('ticks are 1, 2 or 5 × 10ⁿ apart, cover the values, and read in one unit', async (t) => {
  t.same(niceTicks(0, 87), [0, 20, 40, 60, 80, 100]);
  t.same(niceTicks(0, 0.7), [0, 0.2, 0.4, 0.6, 0.8]);
  t.same(niceTicks(0.1, 0.3), [0.1, 0.15, 0.2, 0.25, 0.3], 'no 0.15000000000000002');
  t.same(niceTicks(-3, 7), [-4, -2, 0, 2, 4, 6, 8]);
  t.same(niceTicks(5, 5), [2, 3, 4, 5, 6, 7, 8], 'a single value gets room around it');
  t.same(niceTicks(0, NaN), []);
  // Any range wider than a millionth of its magnitude: benchmark figures are nowhere near that fine.
  fc.assert(
    fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.double({ min: 1e-6, max: 1e6, noNaN: true }), (lo, relative) => {
      const hi = lo + relative * Math.max(1, Math.abs(lo));
      const got = niceTicks(lo, hi);
      const step = Number((((got.at(-1) as number) - (got[0] as number)) / (got.length - 1)).toPrecision(6));
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      const near = (a: number, b: number) => Math.abs(a - b) <= step * 1e-4;
      return (
        got.length >= 3 && got.length <= 12 && (got[0] as number) <= lo + step * 1e-4 && (got.at(-1) as number) >= hi - step * 1e-4 &&
        [1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-4) &&
        got.every((tick, i) => Math.abs(tick / step - Math.round(tick / step)) < 1e-4 && (i === 0 || near(tick - (got[i - 1] as number), step)))
      );
    }),
  );
  const root = parseXml(renderChart([panel('p', [series('roost', [[1, 1200], [2, 8600]])])]));
  t.same(ticks(panelTitled(root, 'p'), 'y').map((e) => e.text), ['0', '2k', '4k', '6k', '8k', '10k']);
});

t.test('a series name has one colour in every panel, and two names two colours', async (t) => {
  const roost = series('roost', [[1, 1], [2, 2]]);
  const floor = series('roost floor', [[1, 2], [2, 3]]);
  const root = parseXml(renderChart([panel('a', [roost, floor]), panel('b', [floor, roost]), panel('c', [series('passport peer', [[1, 1], [2, 1]]), roost])]));
  const colour = (title: string, name: string) => all(seriesIn(panelTitled(root, title), name), (e) => e.name === 'polyline')[0]?.attributes.stroke;
  t.ok(colour('a', 'roost'));
  t.equal(colour('b', 'roost'), colour('a', 'roost'));
  t.equal(colour('c', 'roost'), colour('a', 'roost'));
  t.equal(colour('b', 'roost floor'), colour('a', 'roost floor'));
  t.not(colour('a', 'roost'), colour('a', 'roost floor'));
  t.not(colour('c', 'passport peer'), colour('a', 'roost'));
});

t.test('missing, non-finite and lone values are left out or drawn alone, never as NaN', async (t) => {
  const svg = renderChart(
    [
      panel('broken', [series('roost', [[1, NaN], [16, 5], [64, Infinity], [NaN, 3], [-Infinity, 1]]), series('none', [])]),
      panel('log', [series('roost', [[0, 4], [-1, 4], [16, 4], [64, 5]])], true),
      panel('lone', [series('roost', [[16, 3.2]])]),
      panel('empty', []),
      panel('all bad', [series('roost', [[NaN, NaN]])], true),
      panel('all zero', [series('roost', [[1, 0], [2, 0]])]),
      panel('far from zero', [series('roost', [[1e17, 1], [1e17 + 16, 2]])]),
      panel('huge', [series('roost', [[1, -1e299], [2, 1e299], [3, 1e308]])]),
    ],
    { columns: NaN },
  );
  t.notMatch(svg, /NaN|Infinity|undefined/);
  const root = parseXml(svg);
  for (const element of all(root, () => true)) {
    for (const [key, value] of Object.entries(element.attributes)) {
      if (['x', 'y', 'x1', 'y1', 'x2', 'y2', 'cx', 'cy', 'width', 'height'].includes(key)) t.ok(Number.isFinite(Number(value)), `${element.name} ${key}="${value}"`);
      if (key === 'points') t.ok(value.split(/[ ,]/).every((n) => Number.isFinite(Number(n))), `points="${value}"`);
    }
  }
  t.equal(circles(seriesIn(panelTitled(root, 'broken'), 'roost')).length, 1, 'only (16, 5) is drawn');
  t.equal(circles(seriesIn(panelTitled(root, 'log'), 'roost')).length, 2, 'x ≤ 0 has no logarithm');
  const lone = seriesIn(panelTitled(root, 'lone'), 'roost');
  t.equal(circles(lone).length, 1);
  t.equal(all(lone, (e) => e.name === 'polyline').length, 0, 'one point draws no line');
  for (const title of ['empty', 'all bad']) t.ok(texts(panelTitled(root, title)).includes('no data'), `${title} says so`);
  const [a, b] = circles(seriesIn(panelTitled(root, 'far from zero'), 'roost'));
  t.ok(a!.x < b!.x, 'values close together far from zero stay apart');
  const [low, high, ...rest] = circles(seriesIn(panelTitled(root, 'huge'), 'roost'));
  t.ok(high!.y < low!.y && rest.length === 0, 'huge values are drawn, and those past 1e300 left out');
});

t.test('no panels give a small valid document; columns lay panels out in rows', async (t) => {
  const empty = parseXml(renderChart([]));
  t.equal(empty.name, 'svg');
  t.ok(Number(empty.attributes.width) > 0 && Number(empty.attributes.height) > 0);
  t.equal(all(empty, (e) => e.attributes.class === 'panel').length, 0);

  const six = Array.from({ length: 6 }, (_, i) => panel(`p${i}`, [series('roost', [[1, i], [2, i + 1]])]));
  const origins = (columns?: number) =>
    all(parseXml(renderChart(six, columns === undefined ? {} : { columns })), (e) => e.attributes.class === 'panel').map((e) => e.attributes.transform);
  const distinct = (list: (string | undefined)[], part: 1 | 2) => new Set(list.map((s) => /translate\((\S+) (\S+)\)/.exec(s ?? '')?.[part])).size;
  t.equal(distinct(origins(), 1), 2, 'two columns by default');
  t.equal(distinct(origins(), 2), 3, 'so three rows');
  t.equal(distinct(origins(3), 1), 3);
  t.equal(distinct(origins(3), 2), 2);
  t.equal(distinct(origins(0), 1), 2, 'a nonsense column count falls back to two');
});
