-- AlterTable
ALTER TABLE "Room" ADD COLUMN     "forkRunId" TEXT,
ADD COLUMN     "forkStep" INTEGER;

-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL,
    "roomId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "startedBy" TEXT,
    "kind" TEXT NOT NULL DEFAULT 'drag',
    "method" TEXT NOT NULL,
    "points" TEXT NOT NULL,
    "settings" TEXT NOT NULL,
    "mask" BYTEA,
    "latentBefore" BYTEA NOT NULL,
    "imageBefore" BYTEA NOT NULL,
    "imageBeforeType" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "endReason" TEXT,
    "error" TEXT,
    "steps" INTEGER NOT NULL DEFAULT 0,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "Run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RunStep" (
    "runId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "handles" TEXT NOT NULL,
    "distances" TEXT NOT NULL,
    "confidences" TEXT NOT NULL,
    "latent" BYTEA NOT NULL,
    "frame" BYTEA NOT NULL,
    "frameType" TEXT NOT NULL,
    "elapsedMs" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "RunStep_pkey" PRIMARY KEY ("runId","step")
);

-- CreateIndex
CREATE UNIQUE INDEX "Run_roomId_seq_key" ON "Run"("roomId", "seq");

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RunStep" ADD CONSTRAINT "RunStep_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
