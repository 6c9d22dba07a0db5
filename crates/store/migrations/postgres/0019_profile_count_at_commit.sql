-- A create counted itself into its profile by this trigger, right after its insert, and had
-- locked the profile's row before that for the capacity check: the row stayed locked through
-- the rest of the write and its commit, so creates into one profile ran one at a time. A
-- create now adds itself with one conditional update as the last step before its change
-- event (`accounts/writes.rs`), which is also the capacity check; the trigger keeps counting
-- what leaves a profile and moves.
DROP TRIGGER users_count_in_profile ON users;
CREATE TRIGGER users_count_in_profile AFTER DELETE OR UPDATE OF profile_id ON users
FOR EACH ROW EXECUTE FUNCTION count_profile_users();
