-- Search pages in id order. A GIN index returns its matches unordered, so the newest
-- page of a common word ("martinez": 25,000 of a million contacts) sorted every match:
-- 20-25 ms. This index adds the account and the contact's id bucket (16,384 ids,
-- `id >> 14`) to the trigram keys: a page reads the newest buckets one at a time
-- (`(id >> 14) = b`), each a small bitmap, and stops once it is full. Queries without
-- a bucket (counts, selections, rare words) use the same index through its account and
-- trigram keys. btree_gin provides the GIN operator classes of bigint.
create extension if not exists btree_gin;
create index contacts_search_by_bucket on contacts
    using gin (account_id, (id >> 14), search_text gin_trgm_ops) where deleted_at is null;
drop index contacts_search;
