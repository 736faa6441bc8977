-- One page of a search (contacts.rs, `Repo::list_contacts`): the live contacts of
-- `acct` whose search text contains `q` (three characters or more), `lim` at most, from
-- the cursor `cursor_id` (none: from the newest, or the oldest when `ascending`), in
-- the page's order (ascending for a page before the cursor or the last page).
--
-- It reads the `near` buckets of 16,384 ids (`id >> 14`, as the index has them) from
-- the live contact nearest the cursor one after the other, each through its own keys
-- of contacts_search_by_bucket (migrations 0013, 0014), and stops once the page is full: a common word never sorts more
-- than one bucket's matches. Past those buckets, the rest comes from contacts_search
-- at once, sorted (a rare word: a handful of matches).
--
-- As statements of their own, the query past the buckets was parsed and planned at
-- every call, since a plan made once for any pattern was a bad one (the primary key's
-- range intersected with the GIN matches, in parallel workers): half of its time for a
-- one-match search at a million contacts (0.5 of 1 ms). PL/pgSQL keeps each query's
-- plan for the connection, and the settings below make that plan the one a pattern's
-- own plan is: read the GIN matches, check them, sort them (`c.id + 0` keeps the
-- primary key out of it). No JIT: the generic plans' costs are guesses.
create function search_page(acct bigint, q text, cursor_id bigint, ascending boolean, lim bigint, near integer)
    returns setof contacts
    language plpgsql stable
    set plan_cache_mode = force_generic_plan
    set max_parallel_workers_per_gather = 0
    set jit = off
as $$
declare
    nearest bigint;
    found bigint := 0;
    got bigint;
begin
    -- the live contact nearest the cursor
    if ascending then
        if cursor_id is null then
            select min(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null;
        else
            select min(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null and n.id > cursor_id;
        end if;
    else
        if cursor_id is null then
            select max(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null;
        else
            select max(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null and n.id < cursor_id;
        end if;
    end if;
    if nearest is null then
        return;
    end if;
    -- bucket by bucket from the nearest's, while the page is not full; the keys narrow,
    -- `strpos` tests
    for i in 0 .. near - 1 loop
        if ascending then
            return query select c.* from contacts c
                where c.account_id = acct and c.deleted_at is null
                  and (search_bucket_substrings(c.id >> 14, c.search_text) collate "C") @> search_bucket_substrings((nearest >> 14) + i, q)
                  and strpos(c.search_text, q) > 0
                  and c.id + 0 >= nearest
                order by c.id asc limit lim - found;
        else
            return query select c.* from contacts c
                where c.account_id = acct and c.deleted_at is null
                  and (search_bucket_substrings(c.id >> 14, c.search_text) collate "C") @> search_bucket_substrings((nearest >> 14) - i, q)
                  and strpos(c.search_text, q) > 0
                  and c.id + 0 <= nearest
                order by c.id desc limit lim - found;
        end if;
        get diagnostics got = row_count;
        found := found + got;
        if found >= lim then
            return;
        end if;
    end loop;
    -- past those buckets
    if ascending then
        return query select c.* from contacts c
            where c.account_id = acct and c.deleted_at is null
              and (search_substrings(c.search_text) collate "C") @> search_substrings(q)
              and strpos(c.search_text, q) > 0
              and c.id + 0 >= ((nearest >> 14) + near) << 14
            order by c.id asc limit lim - found;
    else
        return query select c.* from contacts c
            where c.account_id = acct and c.deleted_at is null
              and (search_substrings(c.search_text) collate "C") @> search_substrings(q)
              and strpos(c.search_text, q) > 0
              and c.id + 0 < ((nearest >> 14) - (near - 1)) << 14
            order by c.id desc limit lim - found;
    end if;
end
$$;
