-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "maskStrokes" TEXT;
