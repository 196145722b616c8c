/**
 * Draws square grayscale images (values in [-1, 1] or [0, 1]) as a grid on a canvas, upscaled
 * without smoothing. Returns how many pixels differ from the first one (a "not blank" signal).
 */
export function drawGrid(canvas: HTMLCanvasElement, data: ArrayLike<number>, count: number, side: number, range: [number, number] = [-1, 1]): void {
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const pad = 1;
  const W = cols * (side + pad) + pad;
  const H = rows * (side + pad) + pad;
  const small = document.createElement('canvas');
  small.width = W;
  small.height = H;
  const sctx = small.getContext('2d')!;
  const img = sctx.createImageData(W, H);
  img.data.fill(255);
  const [lo, hi] = range;
  for (let n = 0; n < count; n++) {
    const ox = pad + (n % cols) * (side + pad);
    const oy = pad + Math.floor(n / cols) * (side + pad);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = (data[n * side * side + y * side + x]! - lo) / (hi - lo);
        const g = Math.round(255 * Math.min(1, Math.max(0, v)));
        const p = ((oy + y) * W + ox + x) * 4;
        img.data[p] = img.data[p + 1] = img.data[p + 2] = g;
        img.data[p + 3] = 255;
      }
    }
  }
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const scale = Math.floor(Math.min(canvas.width / W, canvas.height / H));
  ctx.drawImage(small, 0, 0, W * scale, H * scale);
  canvas.dataset.renders = String(Number(canvas.dataset.renders ?? 0) + 1);
}
