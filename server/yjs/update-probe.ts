/**
 * Checks an update against a document before the document gets it: the update is applied to a shadow copy
 * and the copy is validated. The shadow follows the document (every update the document applies, from a
 * connection or from the server, is applied to it too), so a check costs one extra application of the update
 * plus the validation, not a copy of the document. On a room at DOC_LIMITS (0.9 MB) on the loaded 2-core dev
 * machine a fresh copy (encode + decode) per update costs 37-55 ms; the shadow 0.4-0.8 ms for a point move
 * (`npx tsx server/tools/bench-doc-probe.ts`, table in server/README.md). The shadow is built on the first
 * check after a load (that one check pays the copy). A refused update leaves the shadow ahead of the
 * document, so it is dropped and rebuilt from the document on the next check.
 *
 * The validator also learns which root types the update (and any server-side edit since the last check)
 * touched, so it can skip unchanged parts of a large document.
 */
import * as Y from 'yjs';
import { hasPending } from './update-deps.js';

export type ProbeValidator = (shadow: Y.Doc, touched: ReadonlySet<string>) => string | null;

type AnyType = Y.AbstractType<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class UpdateProbe {
  private shadow: Y.Doc | null = null;
  private readonly touched = new Set<string>();
  private readonly follow = (update: Uint8Array) => {
    if (this.shadow) Y.applyUpdate(this.shadow, update);
  };

  constructor(private readonly doc: Y.Doc) {
    doc.on('update', this.follow);
    doc.on('destroy', () => this.destroy());
  }

  /** Null when `validate` accepts the document with `update` applied; else its reason. Never changes the document. */
  check(update: Uint8Array, validate: ProbeValidator): string | null {
    const shadow = this.shadow ?? this.build();
    let reason: string | null;
    try {
      Y.applyUpdate(shadow, update);
      // What Yjs keeps aside for missing dependencies is in no root the validator could look at.
      reason = hasPending(shadow) ? 'the update depends on changes the server does not have' : validate(shadow, this.touched);
    } catch (err) {
      reason = `malformed update (${(err as Error).message})`;
    }
    this.touched.clear();
    if (reason !== null) this.reset();
    return reason;
  }

  /** Forgets the shadow (after a refusal elsewhere left it ahead of the document); the next check rebuilds it. */
  reset(): void {
    this.shadow?.destroy();
    this.shadow = null;
    this.touched.clear();
  }

  destroy(): void {
    this.reset();
    this.doc.off('update', this.follow);
  }

  private build(): Y.Doc {
    const shadow = new Y.Doc({ gc: this.doc.gc });
    Y.applyUpdate(shadow, Y.encodeStateAsUpdate(this.doc));
    // A fresh copy has not been validated part by part: treat every root as touched once.
    for (const name of shadow.share.keys()) this.touched.add(name);
    shadow.on('afterTransaction', (tr: Y.Transaction) => {
      for (const type of tr.changed.keys()) {
        let t: AnyType = type;
        while (t._item && t._item.parent instanceof Y.AbstractType) t = t._item.parent;
        for (const [name, root] of shadow.share) {
          if (root === t) {
            this.touched.add(name);
            break;
          }
        }
      }
    });
    this.shadow = shadow;
    return shadow;
  }
}
