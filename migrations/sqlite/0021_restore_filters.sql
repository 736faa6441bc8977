-- The Restore page (U6): deleted contacts filtered by who deleted them, by workflow and
-- by deletion, sorted by name, when or by whom, a page at a time by keyset; and a
-- restore of "every deleted contact matching" walked in id order, chunk by chunk.
create index contacts_deleted_name on contacts(account_id, lower(first_name || ' ' || last_name), id) where deleted_at is not null;
create index contacts_deleted_by on contacts(account_id, deleted_by_user_id, deleted_at, id) where deleted_at is not null;
create index contacts_deleted_workflow on contacts(account_id, deleted_by_workflow_id, deleted_at, id) where deleted_by_workflow_id is not null;
create index contacts_deleted_batch on contacts(account_id, deletion_batch_id, deleted_at, id) where deletion_batch_id is not null;
create index contacts_deleted_id on contacts(account_id, id) where deleted_at is not null;
-- a restore job of a filter selection (no batch): the selection as JSON, with its as_of
alter table bulk_jobs add column selection text;
