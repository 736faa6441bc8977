-- Webhooks: endpoints an admin registers per account, the events a change writes in its
-- own transaction (an outbox, so a crash loses none), and one delivery per event and
-- endpoint, claimed by the sender with a lease and retried with backoff.
create table webhook_endpoints (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    url text not null,
    -- the event types it receives, as a JSON array of strings
    events text not null,
    secret text not null,
    created_by_user_id integer references users(id),
    created_at integer not null,
    disabled_at integer
);
create index webhook_endpoints_account on webhook_endpoints(account_id, id);

create table webhook_events (
    id integer primary key autoincrement,
    -- the idempotency id sent as `Webhook-Id`: random, never reused
    event_id text not null unique,
    type text not null,
    account_id integer not null references accounts(id),
    batch_id integer,
    -- the request body as sent: ids and counts only, nothing personal (R10)
    payload text not null,
    created_at integer not null
);
create index webhook_events_account on webhook_events(account_id, id);

create table webhook_deliveries (
    id integer primary key autoincrement,
    event_id integer not null references webhook_events(id) on delete cascade,
    endpoint_id integer not null references webhook_endpoints(id) on delete cascade,
    account_id integer not null references accounts(id),
    state text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_attempt_at integer not null,
    lease_owner text,
    lease_until integer,
    last_status integer,
    last_error text,
    delivered_at integer,
    unique (event_id, endpoint_id)
);
create index webhook_deliveries_due on webhook_deliveries(next_attempt_at) where state = 'pending';
create index webhook_deliveries_endpoint on webhook_deliveries(endpoint_id, id);
