-- A profile's capacity was checked by counting its users on every create, twice (once before,
-- once in the insert): with 100,000 users in a profile, each create read 200,000 index
-- entries. The profile now keeps its count, kept right by a trigger in the transaction that
-- adds or removes the user. A create into a profile locks the profile's row first anyway (the
-- capacity check), so the count adds no new wait.
ALTER TABLE profiles ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0;
UPDATE profiles p SET user_count =
    (SELECT COUNT(*) FROM users u WHERE u.tenant_id = p.tenant_id AND u.profile_id = p.id);

CREATE FUNCTION count_profile_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.profile_id IS NOT DISTINCT FROM NEW.profile_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.profile_id IS NOT NULL THEN
        UPDATE profiles SET user_count = user_count - 1 WHERE id = OLD.profile_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.profile_id IS NOT NULL THEN
        UPDATE profiles SET user_count = user_count + 1 WHERE id = NEW.profile_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_in_profile AFTER INSERT OR DELETE OR UPDATE OF profile_id ON users
FOR EACH ROW EXECUTE FUNCTION count_profile_users();
