-- The matches of a search page past its first buckets (contacts.rs, `Buckets::Beyond`):
-- the live contacts of `acct` whose search text contains `q`, beyond the `near` buckets
-- of 2^`bits` ids from the live contact nearest the cursor, `lim` at most, in the
-- page's order (ascending for a page before the cursor or the last page).
--
-- As a statement of its own it was parsed and planned at every call, since a plan made
-- once for any pattern was a bad one (the primary key's range intersected with the
-- GIN matches, in parallel workers): half of its time for a one-match search at a
-- million contacts (0.5 of 1 ms). PL/pgSQL keeps each query's plan for the connection,
-- and the settings below make that plan the one a pattern's own plan is: read the GIN
-- matches, check them, sort them. `c.id + 0` keeps the primary key out of it.
create function search_page_beyond(acct bigint, q text, cursor_id bigint, ascending boolean, lim bigint, bits integer, near integer)
    returns setof contacts
    language plpgsql stable
    set plan_cache_mode = force_generic_plan
    set max_parallel_workers_per_gather = 0
as $$
declare
    nearest bigint;
begin
    if ascending then
        if cursor_id is null then
            select min(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null;
        else
            select min(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null and n.id > cursor_id;
        end if;
        if nearest is null then
            return;
        end if;
        return query select c.* from contacts c
            where c.account_id = acct and c.deleted_at is null
              and (search_substrings(c.search_text) collate "C") @> search_substrings(q)
              and strpos(c.search_text, q) > 0
              and c.id + 0 >= ((nearest >> bits) + near) << bits
            order by c.id asc limit lim;
    else
        if cursor_id is null then
            select max(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null;
        else
            select max(n.id) into nearest from contacts n where n.account_id = acct and n.deleted_at is null and n.id < cursor_id;
        end if;
        if nearest is null then
            return;
        end if;
        return query select c.* from contacts c
            where c.account_id = acct and c.deleted_at is null
              and (search_substrings(c.search_text) collate "C") @> search_substrings(q)
              and strpos(c.search_text, q) > 0
              and c.id + 0 < ((nearest >> bits) - (near - 1)) << bits
            order by c.id desc limit lim;
    end if;
end
$$;
