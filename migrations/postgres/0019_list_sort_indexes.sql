-- The contacts list sorted by name, email or company, in either direction, with keyset
-- pagination that reads a page from an index at any depth (a million contacts).
--
-- Each key is one text value, so that a page's cursor is a plain (key, id) pair: the
-- value lower-cased, behind a '0', or '1' alone when the value is missing or empty.
-- Contacts without a company (or email) then come after every other one from A to Z, and
-- first from Z to A, where one index read backwards gives exactly the reverse order.
-- The name is what the list shows: first and last name, else the email. Ties break on
-- the id. The expressions must stay word for word those of `src/repo/contacts.rs`
-- (`SortColumn` keys): a query uses an expression index only for the same expression.
create index contacts_live_by_name on contacts (
    account_id,
    coalesce('0' || nullif(lower(trim(first_name || ' ' || last_name)), ''), '0' || nullif(lower(email), ''), '1'),
    id
) where deleted_at is null;

create index contacts_live_by_email on contacts (
    account_id,
    coalesce('0' || nullif(lower(email), ''), '1'),
    id
) where deleted_at is null;

create index contacts_live_by_company on contacts (
    account_id,
    coalesce('0' || nullif(lower(company), ''), '1'),
    id
) where deleted_at is null;
