/** The ModelStat table (prisma/schema.prisma): each model's measured drag step time on this server. */
import { createPrismaClient, type PrismaClient } from './client.js';
import type { DatabaseTarget } from './database.js';

export interface ModelStatRecord {
  modelId: string;
  /** The model file's identity the numbers were measured on (model-header.ts fileIdentity). */
  identity: string;
  steps: number;
  meanStepMs: number;
}

export class ModelStatStore {
  private constructor(private readonly prisma: PrismaClient) {}

  /** Its own client on the server's database (on SQLite, WAL lets it share the file with the room store's). */
  static open(target: DatabaseTarget): ModelStatStore {
    return new ModelStatStore(createPrismaClient(target));
  }

  async all(): Promise<ModelStatRecord[]> {
    const rows = await this.prisma.modelStat.findMany();
    return rows.map(({ modelId, identity, steps, meanStepMs }) => ({ modelId, identity, steps, meanStepMs }));
  }

  async put(rec: ModelStatRecord): Promise<void> {
    const { modelId, ...values } = rec;
    await this.prisma.modelStat.upsert({ where: { modelId }, create: rec, update: values });
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
