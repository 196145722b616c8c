/** A small standalone SVG of training (grey) and validation (blue) loss against step. */
export function lossCurveSvg(train: [number, number][], val: [number, number][], size = { w: 640, h: 360 }): string {
  const pts = [...train, ...val].filter(([, l]) => Number.isFinite(l));
  const W = size.w;
  const H = size.h;
  const pad = 40;
  if (!pts.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"/>\n`;
  const maxX = Math.max(1, ...pts.map(([s]) => s));
  const lo = Math.min(...pts.map(([, l]) => l));
  const hi = Math.max(...pts.map(([, l]) => l));
  const sx = (s: number) => pad + ((W - 2 * pad) * s) / maxX;
  const sy = (l: number) => H - pad - ((H - 2 * pad) * (l - lo)) / Math.max(1e-9, hi - lo);
  const line = (p: [number, number][], color: string) =>
    p.length ? `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${p.filter(([, l]) => Number.isFinite(l)).map(([s, l]) => `${sx(s).toFixed(1)},${sy(l).toFixed(1)}`).join(' ')}"/>` : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="black"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="black"/>`,
    `<text x="${pad}" y="${pad - 8}">loss ${hi.toFixed(3)}</text><text x="${pad}" y="${H - pad + 14}">${lo.toFixed(3)}</text><text x="${W - pad - 60}" y="${H - pad + 14}">step ${maxX}</text>`,
    line(train, '#999'),
    line(val, '#1f6feb'),
    `<text x="${W - pad - 120}" y="${pad}" fill="#999">train</text><text x="${W - pad - 70}" y="${pad}" fill="#1f6feb">validation</text>`,
    '</svg>',
    '',
  ].join('\n');
}
