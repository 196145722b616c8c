import { Rng } from '@nutshell/core';
import { loadGlosses } from './assets.js';
import { $, download, onClick, showError } from './dom.js';
import { blind, parsePairs, summarize, type RatingJudgement, type RatingPair } from './rating.js';

let queue: { pair: RatingPair; leftIsA: boolean }[] = [];
let index = 0;
let shownAt = 0;
let judgements: RatingJudgement[] = [];
let seed = 0;

function show(): void {
  const item = queue[index];
  $('rate-progress').textContent = queue.length ? `${Math.min(index, queue.length)} / ${queue.length} rated` : '';
  if (!item) {
    $('rate-prompt').textContent = queue.length ? 'Done: export the judgements.' : '';
    $('rate-left').textContent = '';
    $('rate-right').textContent = '';
    return;
  }
  const [l, r] = item.leftIsA ? [item.pair.a, item.pair.b] : [item.pair.b, item.pair.a];
  $('rate-prompt').textContent = item.pair.prompt ?? '';
  $('rate-left').textContent = l.text;
  $('rate-right').textContent = r.text;
  shownAt = performance.now();
}

function start(pairs: RatingPair[]): void {
  seed = Math.floor(Math.random() * 2 ** 31);
  queue = blind(pairs, seed);
  index = 0;
  judgements = [];
  $('rate-summary').textContent = '';
  show();
}

function pick(side: 'left' | 'right'): void {
  const item = queue[index];
  if (!item) return;
  const [left, right] = item.leftIsA ? [item.pair.a, item.pair.b] : [item.pair.b, item.pair.a];
  const [winner, loser] = side === 'left' ? [left, right] : [right, left];
  judgements.push({ id: item.pair.id, left: left.system, right: right.system, winner: winner.system, loser: loser.system, ms: Math.round(performance.now() - shownAt) });
  index++;
  show();
}

/** Demo pairs: a real gloss against the same gloss with its words scrambled (a sanity check for raters). */
async function demoPairs(): Promise<RatingPair[]> {
  // Glosses of five or more words, so a scramble always differs from the original.
  const lines = (await loadGlosses()).split('\n').filter((l) => l.includes(': ') && new Set(l.slice(l.indexOf(': ') + 2).split(' ')).size >= 5);
  const rng = new Rng(1);
  return Array.from({ length: 8 }, (_, i) => {
    const line = lines[rng.int(lines.length)]!;
    const [word, gloss] = [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)];
    const words = gloss.split(' ');
    for (let k = words.length - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      [words[k], words[j]] = [words[j]!, words[k]!];
    }
    if (words.join(' ') === gloss) words.push(words.shift()!);
    return { id: `demo-${i}`, prompt: word, a: { system: 'wordnet', text: gloss }, b: { system: 'scrambled', text: words.join(' ') } };
  });
}

export function initRatePage(): void {
  onClick('rate-demo', async () => start(await demoPairs()));
  onClick('rate-pick-left', () => pick('left'));
  onClick('rate-pick-right', () => pick('right'));
  onClick('rate-export', () => {
    const out = summarize(judgements, seed);
    const text = JSON.stringify(out, null, 2);
    $('rate-summary').textContent = text;
    download('ratings-2afc.json', text);
  });
  $('rate-file').addEventListener('change', () => {
    const file = $<HTMLInputElement>('rate-file').files?.[0];
    if (file) void file.text().then((t) => start(parsePairs(JSON.parse(t)))).catch(showError);
  });
  document.addEventListener('keydown', (e) => {
    if (!$('page-rate').classList.contains('active') || (e.target as HTMLElement).tagName === 'INPUT') return;
    if (e.key === '1') pick('left');
    if (e.key === '2') pick('right');
  });
}
