/** The model's name and domain when the user gives none: from the output directory and the file name. */
import path from 'node:path';

// Matched against the lower-cased file name, first match wins (DragGAN's checkpoints and NVIDIA's releases).
const DOMAINS: Array<[RegExp, string]> = [
  [/ffhq|metfaces|celeba|faces?\b/, 'faces'],
  [/afhqcat|(^|[^a-z])cats?([^a-z]|$)/, 'cats'],
  [/afhqdog|(^|[^a-z])dogs?([^a-z]|$)/, 'dogs'],
  [/afhqwild|wild/, 'wild animals'],
  [/lions?/, 'lions'],
  [/horses?/, 'horses'],
  [/elephants?/, 'elephants'],
  [/(^|[^a-z])cars?([^a-z]|$)/, 'cars'],
  [/human|shhq/, 'people'],
  [/brecahad/, 'cells'],
  [/landscape/, 'landscapes'],
];

export function guessDomain(file: string): string | undefined {
  const name = path.basename(file).toLowerCase();
  return DOMAINS.find(([re]) => re.test(name))?.[1];
}

export function defaultName(outDir: string): string {
  return path.basename(path.resolve(outDir));
}
