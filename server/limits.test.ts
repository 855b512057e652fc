import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitEnvName, readLimits } from './limits.js';

describe('readLimits', () => {
  it('takes positive numbers from STABLEDRAG_LIMIT_* and keeps the defaults otherwise', () => {
    expect(limitEnvName('runSeconds')).toBe('STABLEDRAG_LIMIT_RUN_SECONDS');
    expect(readLimits({})).toEqual(DEFAULT_LIMITS);
    expect(readLimits({ STABLEDRAG_LIMIT_RUN_SECONDS: '30', STABLEDRAG_LIMIT_QUEUED_RUNS_PER_ROOM: '2' })).toMatchObject({ runSeconds: 30, queuedRunsPerRoom: 2, maxSteps: DEFAULT_LIMITS.maxSteps });
  });

  it('refuses a value that is not a positive number, naming the variable', () => {
    expect(() => readLimits({ STABLEDRAG_LIMIT_MAX_STEPS: 'lots' })).toThrow(/STABLEDRAG_LIMIT_MAX_STEPS must be a positive number/);
    expect(() => readLimits({ STABLEDRAG_LIMIT_MAX_STEPS: '-1' })).toThrow(/positive/);
  });
});
