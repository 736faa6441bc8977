-- Every probe of a GIN index reads its whole pending list, and a one-match search page
-- probes up to five times (four buckets, then the whole index). At 256 kB (about 130
-- contacts' keys) that was two thirds of such a page's time in the database: 1.9 ms
-- instead of 1.15 at a million contacts. 64 kB is PostgreSQL's smallest limit; new
-- contacts' keys reach the indexes' trees four times as often, in smaller batches.
alter index contacts_search set (gin_pending_list_limit = 64);
alter index contacts_search_by_bucket set (gin_pending_list_limit = 64);
select gin_clean_pending_list('contacts_search'::regclass);
select gin_clean_pending_list('contacts_search_by_bucket'::regclass);
