-- The id of the request that caused an event, so that one id can be followed from the HTTP request
-- through the queue to the messages the realtime service emits.

-- AlterTable
ALTER TABLE "domain_events" ADD COLUMN "correlation_id" TEXT;
