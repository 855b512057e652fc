// Plain-JavaScript entry of a drag worker. Node 20 does not apply `--import tsx` loader hooks to a worker's
// own entry file, so the worker registers tsx here and then loads the TypeScript worker through it.
import { register } from 'tsx/esm/api';

register();
await import('./drag-worker.ts');
