-- A create now counts itself into its profile with one conditional update, which is also the
-- capacity check (`accounts/writes.rs`), the same statement as on PostgreSQL; the triggers
-- keep counting what leaves a profile and moves.
DROP TRIGGER users_join_profile;
