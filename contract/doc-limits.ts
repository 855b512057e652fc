/**
 * Bounds on what a room's shared document may hold. The app's editing functions stay inside them and the
 * server refuses any Yjs update that would leave them (a hand-made client cannot grow a room without end or
 * plant NaN in a point). Shared by client and server: no Node APIs.
 */
export const DOC_LIMITS = {
  /** Handle/target pairs in a room (DragGAN's demos use a handful). */
  maxPointPairs: 32,
  /** Brush strokes in the mask. */
  maxMaskStrokes: 400,
  /** Dab coordinates (x and y each count) in one stroke. */
  maxStrokeCoords: 4000,
  /** Dab coordinates in all strokes together. */
  maxMaskCoords: 100_000,
  /** Brush radius in image pixels. */
  minBrushRadius: 0.5,
  maxBrushRadius: 128,
  /** Longest user name or id carried in a point's `by`. */
  maxNameLength: 64,
} as const;
