-- A profile now counts its users only while it has a limit: a create counts itself with one
-- conditional update, its capacity check (`Dialect::join_profile`), the same rule as on
-- PostgreSQL, and the count is taken afresh whenever a limit is set (`catalog.rs`). The
-- triggers keep counting what leaves a limited profile or moves between profiles.
DROP TRIGGER users_join_profile;
DROP TRIGGER users_leave_profile;
DROP TRIGGER users_change_profile;

CREATE TRIGGER users_leave_profile AFTER DELETE ON users
WHEN OLD.profile_id IS NOT NULL
BEGIN
    UPDATE profiles SET user_count = user_count - 1 WHERE id = OLD.profile_id AND max_users > 0;
END;

CREATE TRIGGER users_change_profile AFTER UPDATE OF profile_id ON users
WHEN OLD.profile_id IS NOT NEW.profile_id
BEGIN
    UPDATE profiles SET user_count = user_count - 1 WHERE id = OLD.profile_id AND max_users > 0;
    UPDATE profiles SET user_count = user_count + 1 WHERE id = NEW.profile_id AND max_users > 0;
END;
