import { describe, expect, it } from 'vitest';
import { MessageBudget } from './message-budget.js';

describe('MessageBudget', () => {
  it('lets a burst through, then messages at the refill rate', () => {
    let now = 0;
    const budget = new MessageBudget(10, 5, () => now);
    for (let i = 0; i < 5; i++) expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    now += 100; // one token back at 10 per second
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    now += 10_000; // refills up to the burst, no further
    for (let i = 0; i < 5; i++) expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
  });

  it('is unlimited without a burst size', () => {
    const budget = new MessageBudget(Infinity, Infinity, () => 0);
    for (let i = 0; i < 10_000; i++) expect(budget.take()).toBe(true);
  });
});
