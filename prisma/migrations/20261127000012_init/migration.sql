-- CreateTable
CREATE TABLE "Room" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "title" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "seed" INTEGER NOT NULL,
    "parentRoomId" TEXT,
    "editToken" TEXT NOT NULL,
    "viewToken" TEXT NOT NULL,
    "latent" BLOB NOT NULL,
    "image" BLOB NOT NULL,
    "imageType" TEXT NOT NULL,
    "ydoc" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Room_parentRoomId_fkey" FOREIGN KEY ("parentRoomId") REFERENCES "Room" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Room_editToken_key" ON "Room"("editToken");

-- CreateIndex
CREATE UNIQUE INDEX "Room_viewToken_key" ON "Room"("viewToken");

-- CreateIndex
CREATE INDEX "Room_updatedAt_idx" ON "Room"("updatedAt");
