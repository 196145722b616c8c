import { describeBackends, tf, useBackend, type BackendStatus } from '@nutshell/core';
// Importing a backend package registers its plugin; nothing loads until it is picked.
import '@nutshell/backend-wasm';
import '@nutshell/backend-webgpu';
import { $, onClick } from './dom.js';

const listeners: (() => void)[] = [];
/** Pages that hold tensors drop them when the backend changes (tensors belong to one backend). */
export function onBackendChange(fn: () => void): void {
  listeners.push(fn);
}

let statuses: BackendStatus[] = [];

function render(): void {
  const body = $('backend-table').querySelector('tbody')!;
  body.replaceChildren(
    ...statuses.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.backend = s.name;
      tr.dataset.available = String(s.available);
      for (const cell of [s.name, s.available ? 'yes' : 'no', String(s.priority), s.reason]) {
        const td = document.createElement('td');
        td.textContent = cell;
        tr.append(td);
      }
      return tr;
    }),
  );
  const select = $<HTMLSelectElement>('backend-select');
  const current = select.value;
  select.replaceChildren(new Option('auto', 'auto'), ...statuses.map((s) => {
    const o = new Option(`${s.name}${s.available ? '' : ' (unavailable)'}`, s.name);
    o.disabled = !s.available;
    return o;
  }));
  select.value = current || 'auto';
}

/** Switches the backend and proves it works with a small matmul. */
export async function switchBackend(choice: string): Promise<string> {
  const label = $('backend-current');
  label.dataset.state = 'starting';
  label.textContent = `backend: starting ${choice}…`;
  for (const fn of listeners) fn();
  try {
    const picked = await useBackend(choice);
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const p = tf.matMul(a, a);
    const got = Array.from(await p.data());
    tf.dispose([a, p]);
    const ok = got.join() === '7,10,15,22';
    label.dataset.state = ok ? 'ready' : 'wrong';
    label.dataset.backend = picked.name;
    label.textContent = `backend: ${picked.name}`;
    $('backend-check').textContent = `${picked.name}: ${picked.reason}; [[1,2],[3,4]]² = [${got.join(', ')}] ${ok ? '✓' : '✗ wrong'}`;
    return picked.name;
  } catch (err) {
    label.dataset.state = 'failed';
    label.textContent = `backend: ${choice} failed`;
    throw err;
  }
}

export async function initBackendPage(): Promise<void> {
  statuses = await describeBackends();
  render();
  onClick('backend-use', async () => {
    await switchBackend($<HTMLSelectElement>('backend-select').value);
  });
  // ?backend=webgpu picks one at start (used by the e2e tests and for sharing links).
  const wanted = new URLSearchParams(location.search).get('backend') ?? 'auto';
  $<HTMLSelectElement>('backend-select').value = wanted;
  await switchBackend(wanted);
}
