-- contacts-admin schema (SQLite). Times are milliseconds since the Unix epoch (UTC),
-- the same representation as on PostgreSQL, so both backends share their SQL.
-- Every tenant row carries account_id; every index that serves a page leads with it.

create table accounts (
    id integer primary key autoincrement,
    name text not null unique,
    created_at integer not null
);

create table users (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    email text not null unique,
    name text not null,
    role text not null check (role in ('admin', 'user')),
    password_hash text not null,
    created_at integer not null
);
create index users_account on users(account_id);

create table contacts (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    first_name text not null default '',
    last_name text not null default '',
    email text,
    phone text,
    company text,
    -- lower-cased name, email, phone and company: what the search box matches
    search_text text not null default '',
    created_at integer not null,
    updated_at integer not null,
    -- soft deletion (R2, R8): who, when, and which deletion batch (R7, R12)
    deleted_at integer,
    deleted_by_user_id integer,
    deleted_by_workflow_id integer,
    deletion_batch_id integer
);
-- the live list, its count and keyset pagination; created_at for select-all's as_of (R6)
create index contacts_live on contacts(account_id, id, created_at) where deleted_at is null;
-- one live contact per email in an account; a restore that would break it is a conflict (R13)
create unique index contacts_live_email on contacts(account_id, email) where deleted_at is null and email is not null;
-- the Restore page, newest deletion first
create index contacts_deleted on contacts(account_id, deleted_at, id) where deleted_at is not null;
-- purge across accounts (R9)
create index contacts_expiry on contacts(deleted_at) where deleted_at is not null;
-- a deletion's cascade chunk by chunk, and restore by batch (R12)
create index contacts_batch on contacts(deletion_batch_id, id) where deletion_batch_id is not null;

create table contact_tags (
    contact_id integer not null references contacts(id) on delete cascade,
    tag text not null,
    account_id integer not null,
    created_at integer not null,
    primary key (contact_id, tag)
) without rowid;
-- the account's tag names, for the tag filter and pickers
create table tags (
    account_id integer not null references accounts(id),
    name text not null,
    primary key (account_id, name)
) without rowid;

create index contact_tags_by_tag on contact_tags(account_id, tag, contact_id);

-- data associated with a contact, removed when it is deleted (R2)
create table conversations (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    channel text not null,
    subject text not null,
    created_at integer not null
);
create index conversations_contact on conversations(contact_id);

create table messages (
    id integer primary key,
    account_id integer not null,
    conversation_id integer not null references conversations(id) on delete cascade,
    contact_id integer not null references contacts(id) on delete cascade,
    direction text not null,
    body text not null,
    created_at integer not null
);
create index messages_contact on messages(contact_id);
create index messages_conversation on messages(conversation_id);

create table notes (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    user_id integer,
    body text not null,
    created_at integer not null
);
create index notes_contact on notes(contact_id);

create table tasks (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    user_id integer,
    title text not null,
    due_at integer,
    status text not null default 'open',
    created_at integer not null
);
create index tasks_contact on tasks(contact_id);

create table appointments (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    user_id integer,
    title text not null,
    starts_at integer not null,
    status text not null default 'scheduled',
    created_at integer not null
);
create index appointments_contact on appointments(contact_id, starts_at);

create table opportunities (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    name text not null,
    value_cents integer not null default 0,
    status text not null default 'open',
    created_at integer not null
);
create index opportunities_contact on opportunities(contact_id, status);

create table manual_actions (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    user_id integer,
    kind text not null,
    description text not null,
    status text not null default 'pending',
    created_at integer not null
);
create index manual_actions_contact on manual_actions(contact_id);

create table activities (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    user_id integer,
    kind text not null,
    summary text not null,
    created_at integer not null
);
create index activities_contact on activities(contact_id, created_at);

create table files (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    user_id integer,
    name text not null,
    content_type text not null,
    size_bytes integer not null,
    content blob not null,
    created_at integer not null
);
create index files_contact on files(contact_id);

-- a group outlives its owner: deletion clears the ownership only (R2)
create table community_groups (
    id integer primary key,
    account_id integer not null references accounts(id),
    name text not null,
    owner_contact_id integer references contacts(id) on delete set null,
    created_at integer not null
);
create index community_groups_owner on community_groups(owner_contact_id);
create index community_groups_account on community_groups(account_id);

create table campaigns (
    id integer primary key,
    account_id integer not null references accounts(id),
    name text not null,
    created_at integer not null
);

create table workflows (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    name text not null,
    status text not null default 'draft' check (status in ('draft', 'active', 'paused')),
    trigger_tag text,
    actions text not null default '[]',
    activated_by_user_id integer,
    activated_at integer,
    created_at integer not null,
    updated_at integer not null
);
create index workflows_account on workflows(account_id, status, trigger_tag);

-- campaign and workflow enrollments: stopped, not removed, when the contact is deleted (R2)
create table enrollments (
    id integer primary key,
    account_id integer not null,
    contact_id integer not null references contacts(id) on delete cascade,
    campaign_id integer references campaigns(id),
    workflow_id integer references workflows(id),
    status text not null check (status in ('active', 'finished', 'stopped')),
    stop_reason text,
    stopped_at integer,
    created_at integer not null
);
create index enrollments_contact on enrollments(contact_id, status);

create table lists (
    id integer primary key,
    account_id integer not null references accounts(id),
    name text not null,
    created_at integer not null
);

create table list_members (
    list_id integer not null references lists(id) on delete cascade,
    contact_id integer not null references contacts(id) on delete cascade,
    account_id integer not null,
    added_at integer not null,
    primary key (list_id, contact_id)
) without rowid;
create index list_members_contact on list_members(contact_id);

-- one row per deletion (R7): its selection while it runs, its progress, its outcome.
-- The cursor makes a deletion resumable chunk by chunk (L2).
create table deletion_batches (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    actor_user_id integer,
    workflow_id integer,
    channel text not null,
    selection text,
    description text not null,
    reason text,
    state text not null default 'running' check (state in ('running', 'done', 'cancelled')),
    cursor_id integer not null default 0,
    total integer not null default 0,
    deleted_count integer not null default 0,
    created_at integer not null,
    finished_at integer
);
create index deletion_batches_account on deletion_batches(account_id, id);
create index deletion_batches_running on deletion_batches(state) where state = 'running';

-- background bulk work (L1): a job drives a batch chunk by chunk; a lease lets one of
-- several servers own it at a time
create table bulk_jobs (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    kind text not null,
    batch_id integer references deletion_batches(id),
    state text not null default 'queued',
    created_by_user_id integer,
    total integer not null default 0,
    done integer not null default 0,
    lease_owner text,
    lease_until integer,
    error text,
    created_at integer not null,
    updated_at integer not null
);
create index bulk_jobs_account on bulk_jobs(account_id, id);
create index bulk_jobs_state on bulk_jobs(state, id);

-- who did what to how many contacts (R7); ids and counts only, never names (R10)
create table audit_events (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    at integer not null,
    actor_user_id integer,
    workflow_id integer,
    channel text not null,
    action text not null,
    contact_count integer not null default 0,
    description text not null,
    reason text,
    batch_id integer
);
create index audit_events_account on audit_events(account_id, id);
create index audit_events_action on audit_events(account_id, action, id);
