-- CreateTable
CREATE TABLE "ModelStat" (
    "modelId" TEXT NOT NULL,
    "identity" TEXT NOT NULL,
    "steps" INTEGER NOT NULL,
    "meanStepMs" DOUBLE PRECISION NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ModelStat_pkey" PRIMARY KEY ("modelId")
);
