-- A version per projection row, incremented by every write: the worker advances a projection with one
-- compare-and-set UPDATE on it (no transaction held across round trips), and a write that finds another
-- version (a concurrent advance or a rebuild) is retried from a fresh read.

-- AlterTable
ALTER TABLE "school_dashboard_projections" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 0;
