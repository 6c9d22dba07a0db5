-- A create counted itself into its profile by trigger, right after its insert, and had locked
-- the profile's row before that for the capacity check: the row stayed locked through the rest
-- of the write and its commit, so creates into one profile ran one at a time. A profile now
-- counts its users only while it has a limit: a create into a limited profile counts itself
-- with one conditional update, its capacity check, as the last step before its change event;
-- a create into a profile without a limit only share-locks the row (`Dialect::join_profile`).
-- The count is taken afresh whenever a limit is set (`catalog.rs`). The trigger keeps counting
-- what leaves a limited profile or moves between profiles.
DROP TRIGGER users_count_in_profile ON users;
CREATE OR REPLACE FUNCTION count_profile_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.profile_id IS NOT DISTINCT FROM NEW.profile_id THEN
        RETURN NULL;
    END IF;
    IF OLD.profile_id IS NOT NULL THEN
        UPDATE profiles SET user_count = user_count - 1
        WHERE id = OLD.profile_id AND max_users > 0;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.profile_id IS NOT NULL THEN
        UPDATE profiles SET user_count = user_count + 1
        WHERE id = NEW.profile_id AND max_users > 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_count_in_profile AFTER DELETE OR UPDATE OF profile_id ON users
FOR EACH ROW EXECUTE FUNCTION count_profile_users();
