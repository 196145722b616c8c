/** Small DOM helpers: typed lookups that fail loudly when the page and the code disagree. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: element #${id} is missing`);
  return el as T;
}

export function numberInput(id: string, fallback: number): number {
  const v = Number($<HTMLInputElement>(id).value);
  return Number.isFinite(v) ? v : fallback;
}

/** Shows an error in the page (and the console) instead of failing silently. */
export function showError(err: unknown): void {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  $('errors').textContent = msg;
  console.warn(err);
}

export function clearError(): void {
  $('errors').textContent = '';
}

/** Lets the browser paint between training steps or tokens. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Runs an async click handler with errors shown in the page. */
export function onClick(id: string, fn: () => Promise<void> | void): void {
  $(id).addEventListener('click', () => {
    clearError();
    Promise.resolve()
      .then(fn)
      .catch(showError);
  });
}

export function download(name: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** Saves bytes or text under a file name (a link click). */
export function downloadBytes(name: string, data: Uint8Array | string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
