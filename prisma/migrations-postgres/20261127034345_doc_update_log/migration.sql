-- CreateTable
CREATE TABLE "RoomDocUpdate" (
    "id" SERIAL NOT NULL,
    "roomId" TEXT NOT NULL,
    "update" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RoomDocUpdate_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RoomDocUpdate_roomId_id_idx" ON "RoomDocUpdate"("roomId", "id");

-- AddForeignKey
ALTER TABLE "RoomDocUpdate" ADD CONSTRAINT "RoomDocUpdate_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;
