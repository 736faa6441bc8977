-- A tag can start workflows that delete (W3); only an admin who typed DELETE may start
-- them (R1, R5). A queued run remembers who added the tag and whether they confirmed
-- the deletions, so that a workflow changed to "Delete contact" after the tag was
-- added does not delete on a consent nobody gave. Deletions and their audit events
-- name that user beside the workflow and the admin who activated it.
alter table workflow_runs add column triggered_by_user_id integer;
alter table workflow_runs add column delete_confirmed integer not null default 0;
-- runs already queued were accepted under the earlier rules
update workflow_runs set delete_confirmed = 1 where state in ('queued', 'running');
alter table deletion_batches add column triggered_by_user_id integer;
alter table audit_events add column triggered_by_user_id integer;
