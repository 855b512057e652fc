import { describe, expect, it } from 'vitest';
import { replayUndoStack, type UndoEntry } from './undo-stack.js';

const drag = (id: string, steps = 5): UndoEntry => ({ id, kind: 'drag', steps, settings: {} });
const undo = (id: string, undid: string): UndoEntry => ({ id, kind: 'undo', steps: 0, settings: { undid } });
const redo = (id: string, redid: string): UndoEntry => ({ id, kind: 'redo', steps: 0, settings: { redid } });

describe('replayUndoStack', () => {
  it('undoes drags newest first and redoes them in reverse order', () => {
    expect(replayUndoStack([drag('a'), drag('b')])).toEqual({ applied: ['a', 'b'], undone: [] });
    const twoUndos = [drag('a'), drag('b'), undo('u1', 'b'), undo('u2', 'a')];
    expect(replayUndoStack(twoUndos)).toEqual({
      applied: [],
      undone: [{ drag: 'b', undoEntry: 'u1' }, { drag: 'a', undoEntry: 'u2' }],
    });
    expect(replayUndoStack([...twoUndos, redo('r1', 'a')])).toEqual({ applied: ['a'], undone: [{ drag: 'b', undoEntry: 'u1' }] });
    expect(replayUndoStack([...twoUndos, redo('r1', 'a'), redo('r2', 'b')])).toEqual({ applied: ['a', 'b'], undone: [] });
  });

  it('a redone drag that is undone again is redone from its newest undo', () => {
    const s = replayUndoStack([drag('a'), undo('u1', 'a'), redo('r1', 'a'), undo('u2', 'a')]);
    expect(s).toEqual({ applied: [], undone: [{ drag: 'a', undoEntry: 'u2' }] });
  });

  it('a new drag clears what could be redone', () => {
    expect(replayUndoStack([drag('a'), drag('b'), undo('u1', 'b'), drag('c')])).toEqual({ applied: ['a', 'c'], undone: [] });
  });

  it('skips drags that applied no update', () => {
    expect(replayUndoStack([drag('a'), undo('u1', 'a'), drag('b', 0)])).toEqual({ applied: [], undone: [{ drag: 'a', undoEntry: 'u1' }] });
  });

  it('replays old entries where undoing an undo meant redo', () => {
    expect(replayUndoStack([drag('a'), undo('u1', 'a'), undo('u2', 'u1')])).toEqual({ applied: ['a'], undone: [] });
  });

  it('ignores entries that refer to nothing it knows', () => {
    expect(replayUndoStack([drag('a'), undo('u1', 'zz'), redo('r1', 'a'), { id: 'x', kind: 'undo', steps: 0, settings: null }])).toEqual({
      applied: ['a'],
      undone: [],
    });
  });
});
