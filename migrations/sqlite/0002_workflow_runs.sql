-- one execution of a workflow for one contact (W3, W4): queued durably in the same
-- transaction as the tag that triggered it, claimed by one worker at a time
create table workflow_runs (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    workflow_id integer not null,
    contact_id integer not null,
    test_run integer not null default 0,
    state text not null default 'queued' check (state in ('queued', 'running', 'done', 'failed', 'skipped')),
    outcome text,
    error text,
    batch_id integer,
    claimed_by text,
    claim_until integer,
    created_at integer not null,
    finished_at integer
);
create index workflow_runs_queue on workflow_runs(state, id) where state in ('queued', 'running');
create index workflow_runs_workflow on workflow_runs(workflow_id, id);
