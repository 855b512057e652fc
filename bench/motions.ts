/**
 * Where a landmark may plausibly be dragged on the faces128 domain. Each motion is a group of landmarks that
 * move together (a multi-point case drags the whole group, a single-point case one of its landmarks), with a
 * unit direction per landmark (x right, y down; "left" landmarks are on the image's left). `long` marks the
 * motions that stay inside the 128 px frame and remain meaningful when dragged more than 32 px.
 */

export interface MotionPoint {
  landmark: string;
  /** Direction, normalised by the case generator. */
  dir: [number, number];
}

export interface Motion {
  name: string;
  /** Alternatives of the same motion (e.g. gaze up / left / right); a case picks one. */
  variants: Array<{ name: string; points: MotionPoint[] }>;
  long: boolean;
}

const p = (landmark: string, dx: number, dy: number): MotionPoint => ({ landmark, dir: [dx, dy] });

export const MOTIONS: Motion[] = [
  {
    name: 'mouth-corners',
    variants: [
      { name: 'down-out', points: [p('mouth_left', -1, 0.6), p('mouth_right', 1, 0.6)] },
      { name: 'up-out', points: [p('mouth_left', -1, -0.6), p('mouth_right', 1, -0.6)] },
    ],
    long: true,
  },
  { name: 'open-mouth', variants: [{ name: 'apart', points: [p('upper_lip', 0, -1), p('lower_lip', 0, 1)] }], long: false },
  {
    name: 'gaze',
    variants: [
      ['up', 0, -1],
      ['left', -1, 0],
      ['right', 1, 0],
      ['up-left', -1, -1],
      ['up-right', 1, -1],
    ].map(([name, dx, dy]) => ({ name: name as string, points: [p('left_pupil', dx as number, dy as number), p('right_pupil', dx as number, dy as number)] })),
    long: false,
  },
  { name: 'brows-up', variants: [{ name: 'up', points: [p('left_brow_outer', 0, -1), p('right_brow_outer', 0, -1)] }], long: true },
  { name: 'jaw-drop', variants: [{ name: 'down', points: [p('chin', 0, 1), p('lower_lip', 0, 1)] }], long: false },
  {
    name: 'head-turn',
    variants: [-1, 1].map((s) => ({
      name: s < 0 ? 'left' : 'right',
      points: [p('nose_tip', s, 0), p('chin', s, 0), p('hair_top', s, 0)],
    })),
    long: true,
  },
  { name: 'ears-up', variants: [{ name: 'up', points: [p('left_ear_tip', 0, -1), p('right_ear_tip', 0, -1)] }], long: true },
  {
    name: 'eyes-wide',
    variants: [{ name: 'out', points: [p('left_eye_outer', -1, 0), p('right_eye_outer', 1, 0)] }],
    long: false,
  },
];

/** Every landmark a motion uses (they must all exist in the detector's landmark names). */
export function motionLandmarks(): string[] {
  return [...new Set(MOTIONS.flatMap((m) => m.variants.flatMap((v) => v.points.map((q) => q.landmark))))];
}
