-- Indexes of the invitation write path. The hourly invitation quota counts a school's invitations of the
-- last hour; this index makes that a short range scan instead of a pass over all of them.

-- CreateIndex
CREATE INDEX "invitations_school_id_created_at_idx" ON "invitations"("school_id", "created_at");

-- At most one pending invitation per email and school, enforced by the database: the single-statement
-- invitation path checks from the snapshot its statement started with, and this index settles the race
-- between two such statements for the same email (the second fails and answers 409 invitation_pending).

-- CreateIndex
CREATE UNIQUE INDEX "invitations_one_pending_per_email" ON "invitations"("school_id", "email") WHERE "status" = 'pending';
