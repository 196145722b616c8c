/**
 * The demo's `index.html`: a static page (no scripts, no external resources) with the loss curves
 * and sample grids as PNG files next to it, tables of generated definitions and metrics, and links
 * to the model card, metrics JSON, checkpoints, adapter and audit log.
 */
export interface HtmlSection {
  title: string;
  /** Trusted HTML built with `esc` for every interpolated value. */
  html: string;
}

export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function figure(src: string, caption: string, width?: number): string {
  return `<figure><img src="${esc(src)}" alt="${esc(caption)}"${width ? ` width="${width}"` : ''}><figcaption>${esc(caption)}</figcaption></figure>`;
}

export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

export function renderIndexHtml(title: string, intro: string, sections: readonly HtmlSection[]): string {
  const body = sections.map((s) => `<section>\n<h2>${esc(s.title)}</h2>\n${s.html}\n</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; } td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } figure { display: inline-block; margin: 0.5em 1em 0.5em 0; } figcaption { font-size: 13px; color: #555; max-width: 560px; }
img { image-rendering: pixelated; border: 1px solid #ccc; } code { background: #f4f4f4; padding: 0 0.2em; } .note { color: #666; font-size: 13px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p>${intro}</p>
${body}
</body>
</html>
`;
}
