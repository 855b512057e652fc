-- AlterTable
ALTER TABLE "Room" ADD COLUMN "forkRunId" TEXT;
ALTER TABLE "Room" ADD COLUMN "forkStep" INTEGER;

-- CreateTable
CREATE TABLE "Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "roomId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "startedBy" TEXT,
    "kind" TEXT NOT NULL DEFAULT 'drag',
    "method" TEXT NOT NULL,
    "points" TEXT NOT NULL,
    "settings" TEXT NOT NULL,
    "mask" BLOB,
    "latentBefore" BLOB NOT NULL,
    "imageBefore" BLOB NOT NULL,
    "imageBeforeType" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "endReason" TEXT,
    "error" TEXT,
    "steps" INTEGER NOT NULL DEFAULT 0,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" DATETIME,
    CONSTRAINT "Run_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RunStep" (
    "runId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "handles" TEXT NOT NULL,
    "distances" TEXT NOT NULL,
    "confidences" TEXT NOT NULL,
    "latent" BLOB NOT NULL,
    "frame" BLOB NOT NULL,
    "frameType" TEXT NOT NULL,
    "elapsedMs" REAL NOT NULL,

    PRIMARY KEY ("runId", "step"),
    CONSTRAINT "RunStep_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Run_roomId_seq_key" ON "Run"("roomId", "seq");
