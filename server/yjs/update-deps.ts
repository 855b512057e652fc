/**
 * Whether an update needs changes the document does not have. Yjs keeps such an update's structs and deletions
 * aside (`store.pendingStructs`, `pendingDs`) until the missing changes arrive; there no check can see them, yet
 * `encodeStateAsUpdate` includes them, so they would be stored and sent to every new peer. The server refuses
 * them instead. The test mirrors Yjs's own (Item.getMissing, integrateStructs, readAndApplyDeleteSet): a struct
 * can be integrated once its client's earlier clocks and the items it points at (origin, right origin, parent)
 * are in the document or integrated from this same update; a deletion once the range it deletes is.
 */
import * as Y from 'yjs';

/** Null when the whole update can be applied now; else what is missing, for the refusal's reason. */
export function missingDependencies(doc: Y.Doc, update: Uint8Array): string | null {
  const { structs, ds } = Y.decodeUpdate(update);
  const known = new Map<number, number>();
  const stateOf = (client: number) => known.get(client) ?? Y.getState(doc.store, client);
  const byClient = new Map<number, (Y.Item | Y.GC | Y.Skip)[]>();
  for (const s of structs) {
    let list = byClient.get(s.id.client);
    if (!list) byClient.set(s.id.client, (list = []));
    list.push(s);
  }
  for (const list of byClient.values()) list.sort((a, b) => a.id.clock - b.id.clock);
  const refAvailable = (own: number, ref: Y.ID | null) => !ref || ref.client === own || ref.clock < stateOf(ref.client);
  const next = new Map<number, number>([...byClient.keys()].map((c) => [c, 0]));
  // Integrate what can be, client by client, until a pass makes no progress (dependencies may cross clients).
  for (let progress = true; progress; ) {
    progress = false;
    for (const [client, list] of byClient) {
      let i = next.get(client)!;
      while (i < list.length) {
        const s = list[i];
        // A Skip stands for clocks this update does not carry: what follows it cannot be integrated.
        if (s instanceof Y.Skip || s.id.clock > stateOf(client)) break;
        if (s instanceof Y.Item) {
          const parent = s.parent instanceof Y.ID ? s.parent : null;
          if (!refAvailable(client, s.origin) || !refAvailable(client, s.rightOrigin) || !refAvailable(client, parent)) break;
        }
        known.set(client, Math.max(stateOf(client), s.id.clock + s.length));
        i++;
        progress = true;
      }
      next.set(client, i);
    }
  }
  for (const [client, list] of byClient) {
    const i = next.get(client)!;
    const blocked = list.slice(i).find((s) => !(s instanceof Y.Skip));
    if (blocked) return `changes of client ${client} from clock ${stateOf(client)} (this one starts at ${blocked.id.clock})`;
  }
  for (const [client, deletions] of ds.clients) {
    for (const d of deletions) {
      if (d.clock + d.len > stateOf(client)) return `a deletion of client ${client}'s clocks ${d.clock}-${d.clock + d.len - 1}, beyond ${stateOf(client)}`;
    }
  }
  return null;
}

/** Whether Yjs holds changes it could not integrate (see missingDependencies). */
export function hasPending(doc: Y.Doc): boolean {
  return doc.store.pendingStructs !== null || doc.store.pendingDs !== null;
}
