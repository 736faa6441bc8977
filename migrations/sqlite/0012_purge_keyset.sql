-- The purge walks expired contacts in (deleted_at, id) order and resumes after the last
-- one it removed, instead of scanning again from the oldest: on PostgreSQL the entries
-- of rows it already removed stay in the index until vacuum, and a scan from the start
-- would step over all of them at every chunk.
create index contacts_expiry_keyset on contacts(deleted_at, id) where deleted_at is not null;
drop index contacts_expiry;
