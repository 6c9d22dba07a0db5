-- A profile's capacity was checked by counting its users on every create, twice (once before,
-- once in the insert, on the writer): with 100,000 users in a profile, each create read 200,000
-- index entries. The profile now keeps its count, kept right by triggers in the transaction
-- that adds or removes the user.
ALTER TABLE profiles ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;
UPDATE profiles SET user_count =
    (SELECT COUNT(*) FROM users u WHERE u.tenant_id = profiles.tenant_id AND u.profile_id = profiles.id);

CREATE TRIGGER users_join_profile AFTER INSERT ON users
WHEN NEW.profile_id IS NOT NULL
BEGIN
    UPDATE profiles SET user_count = user_count + 1 WHERE id = NEW.profile_id;
END;

CREATE TRIGGER users_leave_profile AFTER DELETE ON users
WHEN OLD.profile_id IS NOT NULL
BEGIN
    UPDATE profiles SET user_count = user_count - 1 WHERE id = OLD.profile_id;
END;

CREATE TRIGGER users_change_profile AFTER UPDATE OF profile_id ON users
WHEN OLD.profile_id IS NOT NEW.profile_id
BEGIN
    UPDATE profiles SET user_count = user_count - 1 WHERE id = OLD.profile_id;
    UPDATE profiles SET user_count = user_count + 1 WHERE id = NEW.profile_id;
END;
