-- The dashboard projection of each school's event log, and the events it had to skip.

-- CreateTable
CREATE TABLE "school_dashboard_projections" (
    "school_id" INTEGER NOT NULL,
    "last_seq" INTEGER NOT NULL DEFAULT 0,
    "students" INTEGER NOT NULL DEFAULT 0,
    "teachers" INTEGER NOT NULL DEFAULT 0,
    "admins" INTEGER NOT NULL DEFAULT 0,
    "classes" INTEGER NOT NULL DEFAULT 0,
    "pending_invitations" INTEGER NOT NULL DEFAULT 0,
    "accepted_invitations" INTEGER NOT NULL DEFAULT 0,
    "declined_invitations" INTEGER NOT NULL DEFAULT 0,
    "cancelled_invitations" INTEGER NOT NULL DEFAULT 0,
    "expired_invitations" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "school_dashboard_projections_pkey" PRIMARY KEY ("school_id")
);

-- CreateTable
CREATE TABLE "dead_letter_events" (
    "event_id" UUID NOT NULL,
    "school_id" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "error" TEXT NOT NULL,
    "failed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "replayed_at" TIMESTAMPTZ(3),

    CONSTRAINT "dead_letter_events_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE INDEX "dead_letter_events_school_id_seq_idx" ON "dead_letter_events"("school_id", "seq");

-- AddForeignKey
ALTER TABLE "school_dashboard_projections" ADD CONSTRAINT "school_dashboard_projections_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dead_letter_events" ADD CONSTRAINT "dead_letter_events_school_id_fkey" FOREIGN KEY ("school_id") REFERENCES "schools"("id") ON DELETE CASCADE ON UPDATE CASCADE;
