-- Search pages in id order. A GIN index returns its matches unordered, so the newest
-- page of a common word ("martinez": 25,000 of a million contacts) sorted every match:
-- 20-25 ms. This index keys each live contact by its trigrams *within its id bucket*
-- (16,384 ids, `id >> 14`): "61:mar", "61:art", … A page reads the newest buckets one
-- at a time, each a small bitmap whose keys list only that bucket's contacts, and
-- stops once it is full. Counts, selections and the matches beyond the first buckets
-- keep using contacts_search (trigrams alone).
--
-- Only the trigrams inside words (no padding space) are keys: every run of three
-- letters or digits of a query is then a key of any text that contains the query. The
-- function names pg_trgm's schema, so that the index also builds where the search path
-- differs (a restore, another role). Its cost (a trigram split per call) keeps plans
-- from calling it row by row instead of reading the index.
do $$
declare
    trgm text := (select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm');
begin
    execute format($f$
        create function search_bucket_trigrams(bucket bigint, t text) returns text[]
        language sql immutable strict parallel safe cost 1000 as $b$
            select array(select bucket::text || ':' || g from unnest(%I.show_trgm(t)) g where position(' ' in g) = 0)
        $b$
    $f$, trgm);
end
$$;
create index contacts_search_by_bucket on contacts
    using gin (search_bucket_trigrams(id >> 14, search_text)) where deleted_at is null;
