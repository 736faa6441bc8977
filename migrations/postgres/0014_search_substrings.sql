-- Search keys are every three-character substring of the search text, punctuation and
-- spaces included, as SQLite's FTS5 trigram table has them, instead of pg_trgm's
-- trigrams of words. pg_trgm splits text into words, so the query ".500000@" (an
-- email's number) had only "500" and "000" inside words, and the padded "  5" (any
-- word starting with 5, such as every phone's "555") among its keys: 115 candidates
-- from 300 index pages, 5 ms at a million contacts. With ".50", "500", "000" and "00@"
-- as keys it has 5 candidates from 28 pages: 0.5 ms. Any character is a key, so
-- non-ASCII queries ("zoë") are answered by the index too.
--
-- A query of three characters or more matches a text only if every substring of three
-- of the query is a key of the text; the query then checks the text itself (`strpos`).
-- Keys compare byte by byte (collation "C"), whatever the database's collation.
--
-- A GIN index queues new entries in a pending list that every search reads through
-- until a vacuum (or the list's size limit) merges it: at the default 4 MB limit that
-- was 3 ms per index probe, and a search page probes up to five times. A 256 kB limit
-- bounds it to a few tenths of a millisecond; restoring 10,000 contacts takes 2.8 s
-- instead of 2.0 (with no pending list at all, 8.6 s).

set local maintenance_work_mem = '256MB';

-- every substring of three characters of `t` (with repeats: GIN keeps each key once)
create function search_substrings(t text) returns text[]
    language sql immutable strict parallel safe cost 1000 as $$
        select array(select substr(t, i, 3) from generate_series(1, length(t) - 2) i)
    $$;

-- the same, each prefixed with an id bucket ("61:mar"): see migration 0013
create function search_bucket_substrings(bucket bigint, t text) returns text[]
    language sql immutable strict parallel safe cost 1000 as $$
        select array(select bucket::text || ':' || substr(t, i, 3) from generate_series(1, length(t) - 2) i)
    $$;

drop index contacts_search;
create index contacts_search on contacts
    using gin ((search_substrings(search_text)) collate "C") with (gin_pending_list_limit = 256)
    where deleted_at is null;

drop index contacts_search_by_bucket;
drop function search_bucket_trigrams(bigint, text);
create index contacts_search_by_bucket on contacts
    using gin ((search_bucket_substrings(id >> 14, search_text)) collate "C") with (gin_pending_list_limit = 256)
    where deleted_at is null;

-- statistics of the new keys, so that plans know a rare key from a common one
analyze contacts;
