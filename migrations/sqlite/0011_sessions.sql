-- signed-in sessions: the cookie carries the id, the server decides whether it is
-- still valid, so signing out ends a session even for a copied cookie
create table sessions (
    id text primary key,
    user_id integer not null references users(id) on delete cascade,
    created_at integer not null,
    expires_at integer not null
);
create index sessions_user on sessions(user_id);
create index sessions_expiry on sessions(expires_at);
