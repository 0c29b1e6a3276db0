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

-- Backfill: memberships created before `member.joined` existed (demo data, earlier set-up) get their
-- event, appended after each school's current log, so that the projection folded from the log counts
-- them. Memberships already explained by an event (accepted invitation, registered student) are skipped.
WITH missing AS (
    SELECT m.school_id, m.user_id, m.role, u.name,
           row_number() OVER (PARTITION BY m.school_id ORDER BY m.created_at, m.id) AS n
    FROM "memberships" m
    JOIN "users" u ON u.id = m.user_id
    WHERE NOT EXISTS (
        SELECT 1 FROM "domain_events" e
        WHERE e.school_id = m.school_id
          AND e.type IN ('member.joined', 'invitation.accepted', 'student.registered')
          AND e.payload->>'userId' = m.user_id::text
    )
), appended AS (
    INSERT INTO "domain_events" ("id", "school_id", "seq", "type", "actor_id", "payload")
    SELECT gen_random_uuid(), mi.school_id, s.last_event_seq + mi.n, 'member.joined', NULL,
           jsonb_build_object('userId', mi.user_id, 'name', mi.name, 'role', mi.role)
    FROM missing mi JOIN "schools" s ON s.id = mi.school_id
    RETURNING "school_id"
)
UPDATE "schools" s SET "last_event_seq" = s.last_event_seq + c.appended
FROM (SELECT "school_id", count(*)::int AS appended FROM appended GROUP BY "school_id") c
WHERE s.id = c.school_id;
