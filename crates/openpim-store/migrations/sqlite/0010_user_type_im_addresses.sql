-- Graph's userType (Member | Guest) and imAddresses (a JSON array of strings) on users, which
-- Graph's examples send and security baselines read (guest users). Existing users are members.
ALTER TABLE users ADD COLUMN user_type TEXT NOT NULL DEFAULT 'Member';
ALTER TABLE users ADD COLUMN im_addresses TEXT NOT NULL DEFAULT '[]';
