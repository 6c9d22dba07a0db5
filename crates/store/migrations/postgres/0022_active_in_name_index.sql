-- A listing of `active eq true` (or false) sorted by userName skipped through the name index
-- but read each skipped user's row to learn whether it was active: a page half-way through a
-- million users took a second. With `active` in the index, those skips and the listing's name
-- anchors are index-only scans, as for the listing of all users.
DROP INDEX users_listed_by_name;
CREATE INDEX users_listed_by_name ON users (tenant_id, (user_name_ci COLLATE "C"), pk)
INCLUDE (active) WHERE scim_id IS NOT NULL;
