-- AlterTable
ALTER TABLE "Room" ADD COLUMN "modelKind" TEXT NOT NULL DEFAULT 'gan';
