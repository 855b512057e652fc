-- AlterTable
ALTER TABLE "RunStep" ADD COLUMN "latentType" TEXT NOT NULL DEFAULT 'f32';
