-- Scale to a million contacts per account (SPEC §5): a trigram index for substring
-- search, exact counters that need no walk over the rows, and tags that know whether
-- their contact is live. Triggers keep all of it in step, in the transaction of the
-- write that changes it, whichever code path (or other CRM component) writes.

-- ---------------------------------------------------------------------------------
-- Tags of deleted contacts stay (a restore brings them back, R8) but are marked, so
-- the tag filter lists and counts live contacts from an index alone (R3).
alter table contact_tags add column live boolean not null default true;
update contact_tags set live = false where contact_id in (select id from contacts where deleted_at is not null);
drop index contact_tags_by_tag;
create index contact_tags_live on contact_tags(account_id, tag, contact_id) where live;
-- the flag follows the contact: set by its deletion, cleared by its restore
create trigger contact_tags_follow_contact after update of deleted_at on contacts
    when (old.deleted_at is null) <> (new.deleted_at is null) begin
    update contact_tags set live = (new.deleted_at is null) where contact_id = new.id;
end;
create trigger contact_tags_of_deleted_contact after insert on contact_tags
    when new.live and exists (select 1 from contacts where id = new.contact_id and deleted_at is not null) begin
    update contact_tags set live = false where contact_id = new.contact_id and tag = new.tag;
end;

-- ---------------------------------------------------------------------------------
-- Substring search over name, email, phone and company (search_text) of live contacts:
-- FTS5 with trigram tokens. Case-sensitive because search_text and the query are both
-- lower-cased already, so a phrase query matches exactly the rows that
-- `search_text like '%q%'` matches, for queries of 3 characters or more.
-- The rowid is account_id * 2^40 + contact id: a search is scoped to its account by a
-- rowid range inside the index, and counts without reading the contacts table.
-- A deleted contact's entries are masked at once (R3) and rewritten away when the index
-- is merged, which purge and erase force (R10; see Repo::scrub_deleted_data). FTS5's
-- 'secure-delete' option would remove them at once instead, but costs about 2 ms per
-- contact at a million rows, which would make bulk deletion ten times slower.
create virtual table contacts_search using fts5(
    search_text,
    tokenize = 'trigram case_sensitive 1',
    detail = full
);
insert into contacts_search (rowid, search_text)
    select account_id * 1099511627776 + id, search_text from contacts where deleted_at is null order by id;
insert into contacts_search (contacts_search) values ('optimize');

create trigger contacts_search_insert after insert on contacts when new.deleted_at is null begin
    insert into contacts_search (rowid, search_text) values (new.account_id * 1099511627776 + new.id, new.search_text);
end;
create trigger contacts_search_delete after delete on contacts when old.deleted_at is null begin
    delete from contacts_search where rowid = old.account_id * 1099511627776 + old.id;
end;
create trigger contacts_search_update after update of deleted_at, search_text, account_id on contacts begin
    delete from contacts_search where old.deleted_at is null and rowid = old.account_id * 1099511627776 + old.id;
    insert into contacts_search (rowid, search_text)
        select new.account_id * 1099511627776 + new.id, new.search_text where new.deleted_at is null;
end;

-- ---------------------------------------------------------------------------------
-- Per-account counters; kind is one of
--   'contacts'             live contacts (the "Select all N" banner, U2)
--   'tag:<name>'           live contacts with that tag
--   conversations, messages, notes, tasks, appointments, opportunities,
--   manual_actions, activities, files
--                          rows of that table
--   list_memberships, group_ownerships, open_opportunities, active_enrollments
-- R2 removes a contact's associated rows when it is deleted, so the counters of
-- associated rows are what deleting every live contact of the account would remove
-- (the pre-delete impact of "select all", U4).
create table account_counts (
    account_id integer not null,
    kind text not null,
    n integer not null,
    primary key (account_id, kind)
) without rowid;

insert into account_counts (account_id, kind, n)
    select account_id, 'contacts', count(*) from contacts where deleted_at is null group by account_id;
insert into account_counts (account_id, kind, n)
    select account_id, 'tag:' || tag, count(*) from contact_tags where live group by account_id, tag;
insert into account_counts (account_id, kind, n) select account_id, 'conversations', count(*) from conversations group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'messages', count(*) from messages group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'notes', count(*) from notes group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'tasks', count(*) from tasks group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'appointments', count(*) from appointments group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'opportunities', count(*) from opportunities group by account_id;
insert into account_counts (account_id, kind, n)
    select account_id, 'open_opportunities', count(*) from opportunities where status = 'open' group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'manual_actions', count(*) from manual_actions group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'activities', count(*) from activities group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'files', count(*) from files group by account_id;
insert into account_counts (account_id, kind, n) select account_id, 'list_memberships', count(*) from list_members group by account_id;
insert into account_counts (account_id, kind, n)
    select account_id, 'group_ownerships', count(*) from community_groups where owner_contact_id is not null group by account_id;
insert into account_counts (account_id, kind, n)
    select account_id, 'active_enrollments', count(*) from enrollments where status = 'active' group by account_id;

-- One trigger per table and event: the row's account and kind go up or down by one.
create trigger contacts_count_insert after insert on contacts when new.deleted_at is null begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'contacts', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger contacts_count_delete after delete on contacts when old.deleted_at is null begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'contacts', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger contacts_count_update after update of deleted_at, account_id on contacts begin
    update account_counts set n = n - 1 where old.deleted_at is null and account_id = old.account_id and kind = 'contacts';
    insert into account_counts (account_id, kind, n) select new.account_id, 'contacts', 1 where new.deleted_at is null
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger contact_tags_count_tags_insert after insert on contact_tags when new.live begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'tag:' || new.tag, +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger contact_tags_count_tags_delete after delete on contact_tags when old.live begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'tag:' || old.tag, -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger contact_tags_count_tags_update after update of live, tag, account_id on contact_tags begin
    update account_counts set n = n - 1 where old.live and account_id = old.account_id and kind = 'tag:' || old.tag;
    insert into account_counts (account_id, kind, n) select new.account_id, 'tag:' || new.tag, 1 where new.live
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger conversations_count_insert after insert on conversations begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'conversations', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger conversations_count_delete after delete on conversations begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'conversations', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger messages_count_insert after insert on messages begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'messages', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger messages_count_delete after delete on messages begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'messages', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger notes_count_insert after insert on notes begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'notes', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger notes_count_delete after delete on notes begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'notes', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger tasks_count_insert after insert on tasks begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'tasks', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger tasks_count_delete after delete on tasks begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'tasks', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger appointments_count_insert after insert on appointments begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'appointments', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger appointments_count_delete after delete on appointments begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'appointments', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger opportunities_count_insert after insert on opportunities begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'opportunities', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger opportunities_count_delete after delete on opportunities begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'opportunities', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger opportunities_count_open_opportunities_insert after insert on opportunities when new.status = 'open' begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'open_opportunities', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger opportunities_count_open_opportunities_delete after delete on opportunities when old.status = 'open' begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'open_opportunities', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger opportunities_count_open_opportunities_update after update of status, account_id on opportunities begin
    update account_counts set n = n - 1 where old.status = 'open' and account_id = old.account_id and kind = 'open_opportunities';
    insert into account_counts (account_id, kind, n) select new.account_id, 'open_opportunities', 1 where new.status = 'open'
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger manual_actions_count_insert after insert on manual_actions begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'manual_actions', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger manual_actions_count_delete after delete on manual_actions begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'manual_actions', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger activities_count_insert after insert on activities begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'activities', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger activities_count_delete after delete on activities begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'activities', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger files_count_insert after insert on files begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'files', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger files_count_delete after delete on files begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'files', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger list_members_count_list_memberships_insert after insert on list_members begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'list_memberships', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger list_members_count_list_memberships_delete after delete on list_members begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'list_memberships', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger community_groups_count_group_ownerships_insert after insert on community_groups when new.owner_contact_id is not null begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'group_ownerships', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger community_groups_count_group_ownerships_delete after delete on community_groups when old.owner_contact_id is not null begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'group_ownerships', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger community_groups_count_group_ownerships_update after update of owner_contact_id, account_id on community_groups begin
    update account_counts set n = n - 1 where old.owner_contact_id is not null and account_id = old.account_id and kind = 'group_ownerships';
    insert into account_counts (account_id, kind, n) select new.account_id, 'group_ownerships', 1 where new.owner_contact_id is not null
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger enrollments_count_active_enrollments_insert after insert on enrollments when new.status = 'active' begin
    insert into account_counts (account_id, kind, n) values (new.account_id, 'active_enrollments', +1)
        on conflict (account_id, kind) do update set n = n + 1;
end;

create trigger enrollments_count_active_enrollments_delete after delete on enrollments when old.status = 'active' begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'active_enrollments', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

create trigger enrollments_count_active_enrollments_update after update of status, account_id on enrollments begin
    update account_counts set n = n - 1 where old.status = 'active' and account_id = old.account_id and kind = 'active_enrollments';
    insert into account_counts (account_id, kind, n) select new.account_id, 'active_enrollments', 1 where new.status = 'active'
        on conflict (account_id, kind) do update set n = n + 1;
end;

-- ---------------------------------------------------------------------------------
-- The time-dependent warnings of "select all" (U4), counted per account: upcoming
-- appointments, and contacts that other users worked on in the last 7 days (in contact
-- order, so counting distinct contacts needs no sort).
create index appointments_upcoming on appointments(account_id, starts_at) where status = 'scheduled';
create index activities_by_contact on activities(account_id, contact_id, created_at, user_id);
