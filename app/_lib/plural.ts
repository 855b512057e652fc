/** "1 step", "2 steps": a count with its noun, for labels that show counts. */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
