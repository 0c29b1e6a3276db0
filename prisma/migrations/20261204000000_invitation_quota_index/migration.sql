-- The hourly invitation quota counts a school's invitations of the last hour under the school's row lock;
-- this index makes that a short range scan instead of a pass over all of the school's invitations.

-- CreateIndex
CREATE INDEX "invitations_school_id_created_at_idx" ON "invitations"("school_id", "created_at");
