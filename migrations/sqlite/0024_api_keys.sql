-- API keys. A key acts as a user of its own: the user row carries the key's role and
-- its name ("API key “Zapier”"), so every rule that checks a user's role and account
-- (R1, R11), the audit log and the Restore page's "deleted by" hold for a key as they
-- do for a person. A key's user never signs in: it has no password.
create table api_keys (
    id integer primary key autoincrement,
    account_id integer not null references accounts(id),
    user_id integer not null unique references users(id),
    name text not null,
    -- SHA-256 of the key, as hex; the key itself is shown once and never stored
    secret_hash text not null unique,
    -- the key's first characters, to tell keys apart on the page
    prefix text not null,
    created_by_user_id integer references users(id),
    created_at integer not null,
    last_used_at integer,
    revoked_at integer,
    revoked_by_user_id integer references users(id)
);
create index api_keys_account on api_keys(account_id, id);
