-- A listing counted the tenant's SCIM-visible users on every page and skipped the rows before
-- its page one by one, so a walk through a large directory cost the square of its size. The
-- users are now counted per block of 1,024 keys (`pk / 1024`), active ones apart, by the
-- trigger below in every write's own transaction: a page takes its total from the sum of the
-- blocks and starts its scan at the block where its offset falls (`sql/counted.rs`).
-- `changes` counts the writes that moved users in or out of a listing or renamed one: while
-- its sum over the tenant stays the same, a page sorted by userName may continue after the
-- previous page's last name (`walks.rs`).
-- A block's count is spread over up to 64 rows (`slot` 1-64: scimd gives each of its
-- connections a slot of its own, `scimd.count_slot`; other sessions take one from their
-- process id) so that creates running side by side, which all land in the newest block, do
-- not wait for each other's commits on one row; a slot's own count may go below zero, only
-- the sum is a count. Housekeeping moves them into slot 0, which no writer uses
-- (`counted::tidy`).
CREATE TABLE user_counts (
    tenant_id BIGINT   NOT NULL,
    block     BIGINT   NOT NULL,
    slot      SMALLINT NOT NULL,
    visible   BIGINT   NOT NULL,
    active    BIGINT   NOT NULL,
    changes   BIGINT   NOT NULL,
    PRIMARY KEY (tenant_id, block, slot)
);

INSERT INTO user_counts (tenant_id, block, slot, visible, active, changes)
SELECT tenant_id, pk / 1024, 0, COUNT(*), COUNT(*) FILTER (WHERE active), 0
FROM users WHERE scim_id IS NOT NULL
GROUP BY tenant_id, pk / 1024;

CREATE FUNCTION count_users() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    visible_delta BIGINT := 0;
    active_delta  BIGINT := 0;
    counted       users;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.scim_id IS NOT NULL THEN
        visible_delta := -1;
        active_delta := -OLD.active::int;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.scim_id IS NOT NULL THEN
        visible_delta := visible_delta + 1;
        active_delta := active_delta + NEW.active::int;
    END IF;
    IF visible_delta = 0 AND active_delta = 0 AND NOT (TG_OP = 'UPDATE'
            AND NEW.scim_id IS NOT NULL AND OLD.user_name_ci IS DISTINCT FROM NEW.user_name_ci) THEN
        RETURN NULL;
    END IF;
    -- A user's tenant and key never change.
    IF TG_OP = 'DELETE' THEN counted := OLD; ELSE counted := NEW; END IF;
    INSERT INTO user_counts AS c (tenant_id, block, slot, visible, active, changes)
    VALUES (counted.tenant_id, counted.pk / 1024,
            COALESCE(NULLIF(current_setting('scimd.count_slot', true), '')::int,
                     pg_backend_pid() % 64 + 1),
            visible_delta,
            active_delta, 1)
    ON CONFLICT (tenant_id, block, slot) DO UPDATE
    SET visible = c.visible + excluded.visible, active = c.active + excluded.active,
        changes = c.changes + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE OR UPDATE OF scim_id, active, user_name_ci ON users
FOR EACH ROW EXECUTE FUNCTION count_users();

-- Pages sorted by userName order names byte by byte (`COLLATE "C"`, as SQLite does), which the
-- unique name index, in the database's collation, cannot serve: this one walks the visible
-- users of a tenant in that order, continues after a name (`walks.rs`) and skips rows alone.
CREATE INDEX users_listed_by_name ON users (tenant_id, (user_name_ci COLLATE "C"), pk)
WHERE scim_id IS NOT NULL;
