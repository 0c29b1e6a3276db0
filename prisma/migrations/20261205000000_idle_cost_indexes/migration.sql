-- Indexes that keep the services' periodic work proportional to what changed, not to the number of schools
-- or invitations.

-- The realtime reconciliation reads the projections written since its previous pass.
-- CreateIndex
CREATE INDEX "school_dashboard_projections_updated_at_idx" ON "school_dashboard_projections"("updated_at");

-- The expiry sweep reads the pending invitations that have lapsed, oldest first (the schema language has no
-- partial indexes: this one is in SQL only, like invitations_one_pending_per_email).
-- CreateIndex
CREATE INDEX "invitations_pending_expires_at_idx" ON "invitations"("expires_at") WHERE "status" = 'pending';
