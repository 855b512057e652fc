/**
 * Linear undo/redo over a room's timeline. The timeline is the record (drag runs, undo and redo entries, in
 * order), so the stacks are derived from it rather than stored: replaying the entries gives the drags in
 * effect (undo takes the newest back) and the drags undone since the last new drag (redo re-applies the
 * newest). A new drag clears the redo stack, as in any editor. A drag that applied no update (stopped or
 * failed before its first step) changed nothing and is not an undo step.
 *
 * Entries written before redo existed undid either a drag or an undo entry; undoing an undo entry meant
 * "redo", and is replayed as one.
 */

/** What the replay needs of a timeline entry. */
export interface UndoEntry {
  id: string;
  kind: 'drag' | 'undo' | 'redo' | 'invert';
  /** Latent updates a drag applied. */
  steps: number;
  /** undo: { undid: id of the drag (or, in old entries, of an undo entry) }; redo: { redid: drag id }. */
  settings: unknown;
}

export interface UndoState {
  /** Drag ids in effect, oldest first: undo takes back the last. */
  applied: string[];
  /** Undone drag ids, oldest undo first: redo re-applies the last. For each, the undo entry that took it back
   *  (its "before" state is the drag's result, which redo restores). */
  undone: { drag: string; undoEntry: string }[];
}

function ref(settings: unknown, key: 'undid' | 'redid'): string | null {
  const v = settings && typeof settings === 'object' ? (settings as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : null;
}

function redo(state: UndoState, drag: string | null): void {
  let i = state.undone.length - 1;
  while (i >= 0 && state.undone[i].drag !== drag) i--;
  if (i < 0) return;
  state.undone.splice(i, 1);
  state.applied.push(drag!);
}

export function replayUndoStack(entries: readonly UndoEntry[]): UndoState {
  const state: UndoState = { applied: [], undone: [] };
  const undidBy = new Map<string, string>(); // undo entry id -> the drag it undid
  for (const e of entries) {
    // A photo's inversion is where the room starts, like a seed: nothing before it to go back to.
    if (e.kind === 'invert') continue;
    if (e.kind === 'drag') {
      if (e.steps === 0) continue;
      state.applied.push(e.id);
      state.undone = [];
    } else if (e.kind === 'undo') {
      const target = ref(e.settings, 'undid');
      const i = target ? state.applied.lastIndexOf(target) : -1;
      if (i >= 0) {
        state.applied.splice(i, 1);
        state.undone.push({ drag: target!, undoEntry: e.id });
        undidBy.set(e.id, target!);
      } else if (target && undidBy.has(target)) {
        redo(state, undidBy.get(target)!); // an old entry: undoing an undo redid its drag
      }
    } else {
      redo(state, ref(e.settings, 'redid'));
    }
  }
  return state;
}
