/** RoomStore on Prisma (SQLite through better-sqlite3 today). */
import type { PrismaClient } from '../db/client.js';
import { createPrismaClient } from '../db/client.js';
import type { DatabaseTarget } from '../db/database.js';
import type { NewRoom, RoomRecord, RoomStore, StoredDocument } from './room-store.js';
import type { NewRun, RunRecord, RunResult, RunSummary, RunUndoEntry, StepRecord, StoredStepFrame } from './history-store.js';
import { newRoomId, newToken, looksLikeToken } from './tokens.js';
import { GroupCommit } from '../db/group-commit.js';
import { fromFloat16Bytes, toFloat16Bytes } from './float16.js';

type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];
type RunRow = Awaited<ReturnType<PrismaClient['run']['findUnique']>> & {};
type StepRow = Awaited<ReturnType<PrismaClient['runStep']['findUnique']>> & {};

function toRun(row: RunRow & { _count?: { stepRecords: number } }): RunRecord {
  return {
    id: row.id, roomId: row.roomId, seq: row.seq, startedBy: row.startedBy ? JSON.parse(row.startedBy) : null,
    kind: row.kind as RunRecord['kind'], method: row.method, points: JSON.parse(row.points), settings: JSON.parse(row.settings),
    mask: row.mask ? new Uint8Array(row.mask) : null, maskStrokes: row.maskStrokes ? JSON.parse(row.maskStrokes) : null,
    latentBefore: toFloat32(row.latentBefore),
    imageBefore: new Uint8Array(row.imageBefore), imageBeforeType: row.imageBeforeType,
    status: row.status as RunRecord['status'], endReason: row.endReason, error: row.error, steps: row.steps,
    recorded: row._count?.stepRecords ?? 0,
    startedAt: row.startedAt, endedAt: row.endedAt,
  };
}

function toStep(row: StepRow): StepRecord {
  return {
    runId: row.runId, step: row.step, handles: JSON.parse(row.handles), distances: JSON.parse(row.distances),
    confidences: JSON.parse(row.confidences), latent: stepLatent(row), ...storedFrame(row), elapsedMs: row.elapsedMs,
  };
}

function stepLatent(row: { latent: Uint8Array; latentType: string }): Float32Array {
  return row.latentType === 'f16' ? fromFloat16Bytes(row.latent) : toFloat32(row.latent);
}

function stepRow(s: StepRecord) {
  return {
    runId: s.runId, step: s.step, handles: JSON.stringify(s.handles), distances: JSON.stringify(s.distances),
    confidences: JSON.stringify(s.confidences), latent: s.latentHalf ? toFloat16Bytes(s.latent) : fromFloat32(s.latent),
    latentType: s.latentHalf ? 'f16' : 'f32', frame: s.frame ? Uint8Array.from(s.frame) : NO_FRAME,
    frameType: s.frameType ?? '', elapsedMs: s.elapsedMs,
  };
}

/** A step that keeps only its latent has an empty frame column (the column is required; no schema change needed). */
const NO_FRAME = new Uint8Array(0);

function storedFrame(row: { frame: Uint8Array; frameType: string }): { frame: Uint8Array; frameType: string } | { frame: null; frameType: null } {
  return row.frame.byteLength > 0 ? { frame: new Uint8Array(row.frame), frameType: row.frameType } : { frame: null, frameType: null };
}

type Row = Awaited<ReturnType<PrismaClient['room']['findUnique']>> & {};

const roomSelect = {
  id: true, title: true, model: true, modelKind: true, seed: true, parentRoomId: true, forkRunId: true, forkStep: true, editToken: true, viewToken: true,
  latent: true, image: true, imageType: true, createdAt: true, updatedAt: true,
} as const;

function toFloat32(bytes: Uint8Array): Float32Array {
  // Copy: the driver's buffer may be unaligned or shared with a pool.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

function fromFloat32(latent: Float32Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(latent.buffer.slice(latent.byteOffset, latent.byteOffset + latent.byteLength) as ArrayBuffer);
}

function toRecord(row: Omit<Row, 'ydoc'>): RoomRecord {
  return {
    id: row.id, title: row.title, model: row.model, modelKind: row.modelKind === 'diffusion' ? 'diffusion' : 'gan', seed: row.seed, parentRoomId: row.parentRoomId,
    forkRunId: row.forkRunId, forkStep: row.forkStep,
    editToken: row.editToken, viewToken: row.viewToken,
    latent: toFloat32(row.latent), image: new Uint8Array(row.image), imageType: row.imageType,
    createdAt: row.createdAt, updatedAt: row.updatedAt,
  };
}

export class PrismaRoomStore implements RoomStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Opens a store on a SQLite file or PostgreSQL database that migrateDatabase has brought up to date. */
  static open(target: DatabaseTarget): PrismaRoomStore {
    return new PrismaRoomStore(createPrismaClient(target));
  }

  async create(room: NewRoom): Promise<RoomRecord> {
    const row = await this.prisma.room.create({
      data: {
        id: newRoomId(), title: room.title, model: room.model, modelKind: room.modelKind ?? 'gan', seed: room.seed, parentRoomId: room.parentRoomId ?? null,
        forkRunId: room.forkRunId ?? null, forkStep: room.forkStep ?? null,
        editToken: newToken(), viewToken: newToken(),
        latent: fromFloat32(room.latent), image: Uint8Array.from(room.image), imageType: room.imageType,
        ydoc: new Uint8Array(0),
        ...(room.weights ? { weights: { create: { bytes: Uint8Array.from(room.weights) } } } : {}),
      },
      select: roomSelect,
    });
    return toRecord(row);
  }

  async delete(id: string): Promise<void> {
    // Runs, steps and document updates go with it (onDelete: Cascade); forks keep their data (SetNull).
    await this.prisma.room.deleteMany({ where: { id } });
  }

  async get(id: string): Promise<RoomRecord | null> {
    const row = await this.prisma.room.findUnique({ where: { id }, select: roomSelect });
    return row ? toRecord(row) : null;
  }

  async findByToken(token: string): Promise<{ room: RoomRecord; role: 'edit' | 'view' } | null> {
    if (!looksLikeToken(token)) return null;
    const row = await this.prisma.room.findFirst({ where: { OR: [{ editToken: token }, { viewToken: token }] }, select: roomSelect });
    if (!row) return null;
    return { room: toRecord(row), role: row.editToken === token ? 'edit' : 'view' };
  }

  async listRecent(limit: number): Promise<RoomRecord[]> {
    const rows = await this.prisma.room.findMany({ orderBy: { updatedAt: 'desc' }, take: limit, select: roomSelect });
    return rows.map(toRecord);
  }

  async saveImage(id: string, state: { latent: Float32Array; image: Uint8Array; imageType: string }): Promise<void> {
    await this.prisma.room.update({
      where: { id },
      data: { latent: fromFloat32(state.latent), image: Uint8Array.from(state.image), imageType: state.imageType },
    });
  }

  async loadDocument(id: string): Promise<StoredDocument> {
    // One read transaction: a consistent state + log pair.
    const [row, log] = await this.prisma.$transaction([
      this.prisma.room.findUnique({ where: { id }, select: { ydoc: true } }),
      this.prisma.roomDocUpdate.findMany({ where: { roomId: id }, orderBy: { id: 'asc' }, select: { id: true, update: true } }),
    ]);
    return {
      state: row && row.ydoc.byteLength > 0 ? new Uint8Array(row.ydoc) : null,
      updates: log.map((u) => new Uint8Array(u.update)),
      lastUpdateId: log.at(-1)?.id ?? 0,
    };
  }

  /** Rooms' appends share statements under load (group commit), like step records. */
  appendDocumentUpdate(id: string, update: Uint8Array): Promise<number> {
    return this.docUpdates.write({ roomId: id, update: Uint8Array.from(update) });
  }

  private readonly docUpdates = new GroupCommit<{ roomId: string; update: Uint8Array<ArrayBuffer> }, number>(
    async (batch) => {
      const rows = await this.prisma.roomDocUpdate.createManyAndReturn({ data: batch, select: { id: true } });
      // One statement inserts in order, so ascending autoincrement ids are the batch's order.
      return rows.map((r) => r.id).sort((a, b) => a - b);
    },
    async (one) => (await this.prisma.roomDocUpdate.create({ data: one, select: { id: true } })).id,
  );

  async storeDocument(id: string, state: Uint8Array, coversUpdateId = 0): Promise<void> {
    const write = this.prisma.room.update({ where: { id }, data: { ydoc: Uint8Array.from(state) } });
    if (coversUpdateId <= 0) {
      await write;
      return;
    }
    await this.prisma.$transaction([write, this.prisma.roomDocUpdate.deleteMany({ where: { roomId: id, id: { lte: coversUpdateId } } })]);
  }

  async getWeights(id: string): Promise<Uint8Array | null> {
    const row = await this.prisma.roomWeights.findUnique({ where: { roomId: id }, select: { bytes: true } });
    return row ? new Uint8Array(row.bytes) : null;
  }

  async storageBytes(id: string): Promise<number> {
    // length() of a blob (SQLite) or bytea (PostgreSQL) is its size in bytes on both, and neither reads the value
    // to answer it (SQLite keeps the size in the record header, PostgreSQL in the varlena/TOAST header).
    const rows = await this.prisma.$queryRaw<{ bytes: bigint | number | string | null }[]>`
      SELECT
        (SELECT COALESCE(SUM(length("latent") + length("image") + length("ydoc")), 0) FROM "Room" WHERE "id" = ${id})
        + (SELECT COALESCE(SUM(length("update")), 0) FROM "RoomDocUpdate" WHERE "roomId" = ${id})
        + (SELECT COALESCE(SUM(length("latentBefore") + length("imageBefore") + COALESCE(length("mask"), 0)), 0) FROM "Run" WHERE "roomId" = ${id})
        + (SELECT COALESCE(SUM(length(s."latent") + length(s."frame")), 0) FROM "RunStep" s JOIN "Run" r ON r."id" = s."runId" WHERE r."roomId" = ${id})
        + (SELECT COALESCE(SUM(length("bytes")), 0) FROM "RoomWeights" WHERE "roomId" = ${id})
        AS "bytes"`;
    return Number(rows[0]?.bytes ?? 0);
  }

  async listForks(id: string): Promise<RoomRecord[]> {
    const rows = await this.prisma.room.findMany({ where: { parentRoomId: id }, orderBy: { createdAt: 'asc' }, select: roomSelect });
    return rows.map(toRecord);
  }

  async rotateTokens(id: string, which: 'edit' | 'view' | 'both'): Promise<{ editToken: string; viewToken: string }> {
    const data = {
      ...(which !== 'view' ? { editToken: newToken() } : {}),
      ...(which !== 'edit' ? { viewToken: newToken() } : {}),
    };
    return this.prisma.room.update({ where: { id }, data, select: { editToken: true, viewToken: true } });
  }

  async createRun(run: NewRun, ended?: { end: { reason: string; steps: number }; result: RunResult }): Promise<RunRecord> {
    const row = await this.prisma.$transaction(async (tx) => {
      const last = await tx.run.findFirst({ where: { roomId: run.roomId }, orderBy: { seq: 'desc' }, select: { seq: true } });
      if (ended) await this.writeResult(tx, ended.result);
      return tx.run.create({
        data: {
          id: run.id, roomId: run.roomId, seq: (last?.seq ?? 0) + 1, startedBy: run.startedBy ? JSON.stringify(run.startedBy) : null,
          kind: run.kind, method: run.method, points: JSON.stringify(run.points), settings: JSON.stringify(run.settings),
          mask: run.mask ? Uint8Array.from(run.mask) : null, maskStrokes: run.maskStrokes ? JSON.stringify(run.maskStrokes) : null,
          latentBefore: fromFloat32(run.latentBefore),
          imageBefore: Uint8Array.from(run.imageBefore), imageBeforeType: run.imageBeforeType,
          ...(ended
            ? { status: 'ended', endReason: ended.end.reason, steps: ended.end.steps, endedAt: new Date() }
            : { status: 'running' }),
        },
      });
    });
    return toRun(row);
  }

  /** Durable when the promise resolves; concurrent runs' steps share statements (group commit). */
  addStep(s: StepRecord): Promise<void> {
    return this.steps.write(s);
  }

  private readonly steps = new GroupCommit<StepRecord>(
    async (batch) => {
      await this.prisma.runStep.createMany({ data: batch.map(stepRow) });
      return batch.map(() => undefined);
    },
    async (one) => void (await this.prisma.runStep.create({ data: stepRow(one) })),
  );

  async finishRun(runId: string, end: { reason: string; steps: number; error?: string }, result?: RunResult): Promise<void> {
    const endData = { status: 'ended', endReason: end.reason, steps: end.steps, error: end.error ?? null, endedAt: new Date() };
    if (!result) {
      await this.prisma.run.update({ where: { id: runId }, data: endData });
      return;
    }
    await this.prisma.$transaction(async (tx) => {
      await this.writeResult(tx, result);
      await tx.run.update({ where: { id: runId }, data: endData });
    });
  }

  /** What a run leaves in its room: latent and image, the handles' update appended to the document's log, tuned weights. */
  private async writeResult(tx: Transaction, { roomId, latent, image, imageType, docUpdate, weights }: RunResult): Promise<void> {
    await tx.room.update({ where: { id: roomId }, data: { latent: fromFloat32(latent), image: Uint8Array.from(image), imageType } });
    if (docUpdate) await tx.roomDocUpdate.create({ data: { roomId, update: Uint8Array.from(docUpdate) } });
    if (weights) {
      const bytes = Uint8Array.from(weights);
      await tx.roomWeights.upsert({ where: { roomId }, create: { roomId, bytes }, update: { bytes, createdAt: new Date() } });
    }
  }

  async endUnfinishedRuns(end: { reason: string; error: string }): Promise<string[]> {
    const runs = await this.prisma.run.findMany({
      where: { status: 'running' }, select: { id: true, _count: { select: { stepRecords: true } } },
    });
    for (const run of runs) {
      await this.prisma.run.update({
        where: { id: run.id },
        data: { status: 'ended', endReason: end.reason, error: end.error, steps: Math.max(0, run._count.stepRecords - 1), endedAt: new Date() },
      });
    }
    return runs.map((r) => r.id);
  }

  async unfinishedRunIds(): Promise<string[]> {
    return (await this.prisma.run.findMany({ where: { status: 'running' }, select: { id: true } })).map((r) => r.id);
  }

  async listRuns(roomId: string): Promise<RunRecord[]> {
    return (await this.prisma.run.findMany({ where: { roomId }, orderBy: { seq: 'asc' }, include: { _count: { select: { stepRecords: true } } } })).map(toRun);
  }

  async listRunPage(roomId: string, page: { before?: number; limit: number }): Promise<RunSummary[]> {
    const rows = await this.prisma.run.findMany({
      where: { roomId, ...(page.before !== undefined ? { seq: { lt: page.before } } : {}) },
      orderBy: { seq: 'desc' },
      take: page.limit,
      select: {
        id: true, roomId: true, seq: true, startedBy: true, kind: true, method: true, points: true, settings: true,
        imageBeforeType: true, status: true, endReason: true, error: true, steps: true, startedAt: true, endedAt: true,
        _count: { select: { stepRecords: true } },
      },
    });
    return rows.map((row) => ({
      id: row.id, roomId: row.roomId, seq: row.seq, startedBy: row.startedBy ? JSON.parse(row.startedBy) : null,
      kind: row.kind as RunRecord['kind'], method: row.method, points: JSON.parse(row.points), settings: JSON.parse(row.settings),
      imageBeforeType: row.imageBeforeType, status: row.status as RunRecord['status'], endReason: row.endReason, error: row.error,
      steps: row.steps, recorded: row._count.stepRecords, startedAt: row.startedAt, endedAt: row.endedAt,
    }));
  }

  countRuns(roomId: string): Promise<number> {
    return this.prisma.run.count({ where: { roomId } });
  }

  async listUndoEntries(roomId: string): Promise<RunUndoEntry[]> {
    const rows = await this.prisma.run.findMany({
      where: { roomId }, orderBy: { seq: 'asc' }, select: { id: true, kind: true, steps: true, settings: true, status: true },
    });
    return rows.map((r) => ({
      id: r.id, kind: r.kind as RunRecord['kind'], steps: r.steps, settings: JSON.parse(r.settings), status: r.status as RunRecord['status'],
    }));
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const row = await this.prisma.run.findUnique({ where: { id: runId }, include: { _count: { select: { stepRecords: true } } } });
    return row ? toRun(row) : null;
  }

  async getStep(runId: string, step: number): Promise<StepRecord | null> {
    const row = await this.prisma.runStep.findUnique({ where: { runId_step: { runId, step } } });
    return row ? toStep(row) : null;
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return (await this.prisma.runStep.findMany({ where: { runId }, orderBy: { step: 'asc' } })).map(toStep);
  }

  /** A real read of the database (readiness checks): rejects when it cannot answer. */
  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT count(*) FROM "Room" WHERE 1 = 0`;
  }

  async listStepFrames(runId: string, steps: number[]): Promise<StoredStepFrame[]> {
    const rows = await this.prisma.runStep.findMany({
      where: { runId, step: { in: steps } }, orderBy: { step: 'asc' }, select: { step: true, frame: true, frameType: true },
    });
    const missing = rows.filter((r) => r.frame.byteLength === 0).map((r) => r.step);
    // Latents only for the steps that need rendering: most of a run's bytes stay unread.
    const latents = missing.length
      ? new Map((await this.prisma.runStep.findMany({ where: { runId, step: { in: missing } }, select: { step: true, latent: true, latentType: true } })).map((r) => [r.step, stepLatent(r)]))
      : new Map<number, Float32Array>();
    return rows.map((r) =>
      r.frame.byteLength > 0
        ? { step: r.step, frame: new Uint8Array(r.frame), frameType: r.frameType }
        : { step: r.step, frame: null, frameType: null, latent: latents.get(r.step)! },
    );
  }

  async setStepFrame(runId: string, step: number, frame: Uint8Array, frameType: string): Promise<void> {
    await this.prisma.runStep.update({ where: { runId_step: { runId, step } }, data: { frame: Uint8Array.from(frame), frameType } });
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
