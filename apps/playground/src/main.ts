import { initBackendPage } from './backend-page.js';
import { $, showError } from './dom.js';
import { initImagePage } from './image-page.js';
import { initMetricsPage } from './metrics-page.js';
import { initRatePage } from './rate-page.js';
import { initTextPage } from './text-page.js';

function showPage(name: string): void {
  for (const b of $('tabs').querySelectorAll('button')) b.classList.toggle('active', b.dataset.page === name);
  for (const p of document.querySelectorAll('.page')) p.classList.toggle('active', p.id === `page-${name}`);
  history.replaceState(null, '', `#${name}`);
}

window.addEventListener('unhandledrejection', (e) => showError(e.reason));
for (const b of $('tabs').querySelectorAll('button')) b.addEventListener('click', () => showPage(b.dataset.page!));
showPage(location.hash.slice(1) || 'backend');

initTextPage();
initImagePage();
initMetricsPage();
initRatePage();
initBackendPage().catch(showError);
