-- CreateTable
CREATE TABLE "ModelStat" (
    "modelId" TEXT NOT NULL PRIMARY KEY,
    "identity" TEXT NOT NULL,
    "steps" INTEGER NOT NULL,
    "meanStepMs" REAL NOT NULL,
    "updatedAt" DATETIME NOT NULL
);
