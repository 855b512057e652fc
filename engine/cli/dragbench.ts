/**
 * The DragBench commands of `stabledrag`:
 *   dragbench-import DIR --out case.json: a DragBench case folder -> one self-contained case.json.
 *   dragbench-export case.json --out DIR: case.json -> a DragBench case folder DragDiffusion's scripts read.
 */
import { readDragBenchCase, readDragCaseJson, writeDragBenchCase, writeDragCaseJson } from '../src/index.js';

export function dragBenchImportCommand(dir: string | undefined, out: string | undefined): void {
  if (!dir) throw new Error('dragbench-import needs the case folder: stabledrag dragbench-import DIR --out case.json');
  if (!out) throw new Error('--out is required (the case.json to write)');
  const c = readDragBenchCase(dir);
  writeDragCaseJson(out, c);
  console.log(`wrote ${out}: ${c.image.width}x${c.image.height}, ${c.points.length} drag(s), prompt ${JSON.stringify(c.prompt)}`);
}

export function dragBenchExportCommand(file: string | undefined, out: string | undefined): void {
  if (!file) throw new Error('dragbench-export needs the case file: stabledrag dragbench-export case.json --out DIR');
  if (!out) throw new Error('--out is required (the case folder to write)');
  const c = readDragCaseJson(file);
  writeDragBenchCase(out, c);
  console.log(`wrote ${out}: original_image.png, user_drag.png, meta_data.pkl (${c.points.length} drag(s))`);
}
