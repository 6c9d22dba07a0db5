-- Change events were numbered inside their write, from the tenant's counter row, which then
-- stayed locked through the commit: every write of a tenant waited for the one before it to be
-- flushed to disk, so concurrent writes ran one at a time. An event is now written without a
-- number and numbered right after its write commits, by a short transaction that numbers every
-- event of the tenant still waiting, in one go, under the counter row's lock (`feed.rs`). Only
-- numbered events are read (`sequence > N` leaves the others out), numbers stay gapless, and
-- they are given in commit order: an event is numbered only once its write is visible.
ALTER TABLE change_events DROP CONSTRAINT change_events_pkey;
ALTER TABLE change_events ALTER COLUMN sequence DROP NOT NULL;
ALTER TABLE change_events ADD COLUMN pk BIGSERIAL PRIMARY KEY;
CREATE UNIQUE INDEX change_events_by_sequence ON change_events (tenant_id, sequence);
CREATE INDEX change_events_to_number ON change_events (tenant_id, pk) WHERE sequence IS NULL;
