-- A restore of a large deletion runs as a background job (kind 'restore', batch_id the
-- deletion it brings back), a chunk per transaction. The job keeps where it stopped, the
-- audit event its chunks add their counts to (created with the first chunk that
-- restores anything, in that chunk's transaction), and what it could not restore.
alter table bulk_jobs add column cursor_id integer not null default 0;
alter table bulk_jobs add column audit_event_id integer;
alter table bulk_jobs add column restored integer not null default 0;
alter table bulk_jobs add column conflict_count integer not null default 0;
alter table bulk_jobs add column expired_count integer not null default 0;
-- the first conflicts (R13) as a JSON array of [contact id, live contact id]: ids only,
-- no email, so nothing personal outlives a purge (R10)
alter table bulk_jobs add column conflicts text;
-- one restore job at a time per deletion: a second request finds the first one
create unique index bulk_jobs_one_restore on bulk_jobs(batch_id) where kind = 'restore' and state in ('queued', 'running');
