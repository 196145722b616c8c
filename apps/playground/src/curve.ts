/** Draws a loss curve (values over steps) on a canvas. */
export function drawCurve(canvas: HTMLCanvasElement, values: readonly number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) return;
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo || 1;
  ctx.strokeStyle = '#2563eb';
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (w - 4) + 2;
    const y = h - 2 - ((v - lo) / span) * (h - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#555';
  ctx.fillText(`${hi.toFixed(2)}`, 4, 12);
  ctx.fillText(`${lo.toFixed(2)}`, 4, h - 4);
}
