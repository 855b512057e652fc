import { defineConfig } from 'vitest/config';

export default defineConfig({
  // tsconfig keeps JSX for Next to compile; tests that render app components compile it with React's runtime.
  oxc: { jsx: { runtime: 'automatic' } },
  test: {
    include: ['engine/**/*.test.ts', 'training/**/*.test.ts', 'tests/**/*.test.ts', 'server/**/*.test.ts', 'contract/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.wip.ts', '.next/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tensor work is CPU-bound on a 2-core machine: running files in parallel only slows every file down.
    fileParallelism: false,
  },
});
