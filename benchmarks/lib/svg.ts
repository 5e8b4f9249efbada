/**
 * Small hand-written SVG bar charts (no dependencies): one chart per scenario with wall time and
 * peak RSS per engine, and an overview of lakelet's time ratio to each peer on a log scale.
 */
export interface Bar {
  label: string;
  value: number;
  /** Whisker: the spread of the repeats. */
  min?: number;
  max?: number;
  color: string;
  /** Text printed after the bar. */
  text: string;
}

export const ENGINE_COLORS: Record<string, string> = {
  lakelet: '#2563eb',
  duckdb: '#d97706',
  deltars: '#059669',
};

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n2 = (v: number) => (Math.round(v * 10) / 10).toString();

/** A panel of horizontal bars at (x, y); returns its SVG and height. */
function panel(x: number, y: number, width: number, title: string, bars: Bar[], labelWidth: number): { svg: string; height: number } {
  const rowH = 26;
  const top = 22;
  const textRoom = 110;
  const plotW = Math.max(40, width - labelWidth - textRoom);
  const scaleMax = Math.max(...bars.map((b) => Math.max(b.value, b.max ?? 0)), 0) || 1;
  const parts: string[] = [`<text x="${x}" y="${y + 14}" font-size="13" font-weight="600" ${FONT}>${escapeXml(title)}</text>`];
  bars.forEach((b, i) => {
    const by = y + top + i * rowH;
    const w = Number.isFinite(b.value) ? (b.value / scaleMax) * plotW : 0;
    parts.push(`<text x="${x + labelWidth - 6}" y="${by + 15}" font-size="12" text-anchor="end" ${FONT}>${escapeXml(b.label)}</text>`);
    if (w > 0) parts.push(`<rect x="${x + labelWidth}" y="${by + 3}" width="${n2(Math.max(w, 1))}" height="${rowH - 8}" fill="${b.color}" rx="2"/>`);
    if (b.min !== undefined && b.max !== undefined && b.max > b.min) {
      const x1 = x + labelWidth + (b.min / scaleMax) * plotW;
      const x2 = x + labelWidth + (b.max / scaleMax) * plotW;
      const cy = by + rowH / 2 - 1;
      parts.push(`<path d="M${n2(x1)} ${cy}H${n2(x2)}M${n2(x1)} ${cy - 4}V${cy + 4}M${n2(x2)} ${cy - 4}V${cy + 4}" stroke="#111827" stroke-width="1.2" fill="none"/>`);
    }
    const tx = x + labelWidth + Math.max(w, b.max !== undefined ? (b.max / scaleMax) * plotW : 0) + 6;
    parts.push(`<text x="${n2(tx)}" y="${by + 15}" font-size="12" fill="#374151" ${FONT}>${escapeXml(b.text)}</text>`);
  });
  return { svg: parts.join(''), height: top + bars.length * rowH };
}

/** Wall time and peak RSS of one scenario, per engine, side by side. */
export function scenarioChart(title: string, subtitle: string, time: Bar[], rss: Bar[]): string {
  const width = 900;
  const labelWidth = 200;
  const half = (width - 40) / 2;
  const head = 44;
  const a = panel(16, head, half, 'Wall time (median; whisker: min–max)', time, labelWidth);
  const b = panel(16 + half + 8, head, half, 'Peak RSS of the process', rss.map((r) => ({ ...r, label: '' })), 8);
  const height = head + Math.max(a.height, b.height) + 16;
  return svgDoc(width, height, [
    `<text x="16" y="22" font-size="15" font-weight="700" ${FONT}>${escapeXml(title)}</text>`,
    `<text x="16" y="38" font-size="11" fill="#6b7280" ${FONT}>${escapeXml(subtitle)}</text>`,
    a.svg,
    b.svg,
  ]);
}

export interface RatioRow {
  label: string;
  ratios: { peer: string; value: number | undefined }[];
}

/**
 * lakelet's time ÷ each peer's, per scenario, on a log scale centred on 1× (left of the line:
 * lakelet faster; right: slower).
 */
export function ratioChart(title: string, rows: RatioRow[], peerLabels: Record<string, string>): string {
  const width = 900;
  const labelWidth = 260;
  const plotW = width - labelWidth - 130;
  const head = 56;
  const barH = 12;
  const groupH = Math.max(1, ...rows.map((r) => r.ratios.length)) * (barH + 3) + 10;
  const values = rows.flatMap((r) => r.ratios.map((x) => x.value)).filter((v): v is number => v !== undefined && v > 0 && Number.isFinite(v));
  const extreme = Math.max(2, ...values.map((v) => Math.max(v, 1 / v)));
  const decades = Math.ceil(Math.log10(extreme) * 2) / 2;
  const xOf = (v: number) => labelWidth + ((Math.log10(v) + decades) / (2 * decades)) * plotW;
  const parts: string[] = [
    `<text x="16" y="22" font-size="15" font-weight="700" ${FONT}>${escapeXml(title)}</text>`,
    `<text x="16" y="38" font-size="11" fill="#6b7280" ${FONT}>lakelet's median wall time ÷ the peer's (log scale). Left of 1×: lakelet faster; right: slower.</text>`,
  ];
  let legendX = labelWidth;
  for (const [peer, label] of Object.entries(peerLabels)) {
    parts.push(`<rect x="${legendX}" y="${head - 12}" width="10" height="10" fill="${ENGINE_COLORS[peer] ?? '#9ca3af'}"/>`);
    parts.push(`<text x="${legendX + 14}" y="${head - 3}" font-size="11" ${FONT}>${escapeXml(`÷ ${label}`)}</text>`);
    legendX += 24 + label.length * 6.5;
  }
  const top = head + 6;
  const bottom = top + rows.length * groupH;
  // Grid: 1/10, 1/3, 1, 3, 10 … within range.
  for (const tick of [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100]) {
    if (Math.abs(Math.log10(tick)) > decades + 1e-9) continue;
    const x = n2(xOf(tick));
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="${tick === 1 ? '#111827' : '#e5e7eb'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${x}" y="${bottom + 14}" font-size="11" text-anchor="middle" fill="#6b7280" ${FONT}>${tick}×</text>`);
  }
  rows.forEach((r, i) => {
    const gy = top + i * groupH + 5;
    parts.push(`<text x="${labelWidth - 8}" y="${gy + groupH / 2}" font-size="12" text-anchor="end" ${FONT}>${escapeXml(r.label)}</text>`);
    r.ratios.forEach((x, j) => {
      const y = gy + j * (barH + 3);
      if (x.value === undefined || !(x.value > 0) || !Number.isFinite(x.value)) {
        parts.push(`<text x="${n2(xOf(1) + 4)}" y="${y + barH - 2}" font-size="10" fill="#9ca3af" ${FONT}>n/a</text>`);
        return;
      }
      const x1 = xOf(Math.min(1, x.value));
      const x2 = xOf(Math.max(1, x.value));
      parts.push(`<rect x="${n2(x1)}" y="${y}" width="${n2(Math.max(1, x2 - x1))}" height="${barH}" fill="${ENGINE_COLORS[x.peer] ?? '#9ca3af'}" rx="2"/>`);
      const label = `${x.value >= 10 ? x.value.toFixed(0) : x.value.toFixed(2)}×`;
      const tx = x.value >= 1 ? x2 + 4 : x1 - 4;
      parts.push(`<text x="${n2(tx)}" y="${y + barH - 2}" font-size="10" text-anchor="${x.value >= 1 ? 'start' : 'end'}" fill="#374151" ${FONT}>${label}</text>`);
    });
  });
  return svgDoc(width, bottom + 28, parts);
}

function svgDoc(width: number, height: number, parts: string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${Math.ceil(height)}" viewBox="0 0 ${width} ${Math.ceil(height)}">` +
    `<rect width="100%" height="100%" fill="#ffffff"/>${parts.join('')}</svg>\n`
  );
}
