-- Scale to a million contacts per account (SPEC §5): exact counters that need no walk
-- over the rows, and tags that know whether their contact is live. Triggers keep them
-- in step, in the transaction of the write that changes them, whichever code path (or
-- other CRM component) writes. (Substring search already has its trigram index,
-- contacts_search, from the first migration.)

-- ---------------------------------------------------------------------------------
-- Tags of deleted contacts stay (a restore brings them back, R8) but are marked, so
-- the tag filter lists and counts live contacts from an index alone (R3).
alter table contact_tags add column live boolean not null default true;
update contact_tags set live = false where contact_id in (select id from contacts where deleted_at is not null);
drop index contact_tags_by_tag;
create index contact_tags_live on contact_tags(account_id, tag, contact_id) where live;
-- the flag follows the contact: set by its deletion, cleared by its restore
create function contact_tags_follow_contact() returns trigger language plpgsql as $$
begin
    update contact_tags t set live = (n.deleted_at is null)
    from new_rows n join old_rows o on o.id = n.id
    where t.contact_id = n.id and (o.deleted_at is null) <> (n.deleted_at is null);
    return null;
end
$$;
create trigger contact_tags_follow_contact after update on contacts
    referencing old table as old_rows new table as new_rows
    for each statement execute function contact_tags_follow_contact();
create function contact_tags_of_deleted_contact() returns trigger language plpgsql as $$
begin
    update contact_tags t set live = false
    from new_rows n join contacts c on c.id = n.contact_id
    where c.deleted_at is not null and t.contact_id = n.contact_id and t.tag = n.tag and t.live;
    return null;
end
$$;
create trigger contact_tags_of_deleted_contact after insert on contact_tags
    referencing new table as new_rows
    for each statement execute function contact_tags_of_deleted_contact();

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
    account_id bigint not null,
    kind text not null,
    n bigint not null,
    primary key (account_id, kind)
);

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

-- Statement-level triggers: one upsert per statement and counter, whatever the number of
-- rows (a seed or a deletion chunk writes thousands at once). tg_argv[0] is the SQL
-- expression of the counter's kind, tg_argv[1] the condition a row must meet to count.
-- Counters are locked in (account_id, kind) order, so concurrent writers cannot deadlock
-- on them.
create function count_rows() returns trigger language plpgsql as $$
declare
    delta text;
begin
    if tg_op = 'INSERT' then
        delta := format('select account_id, %1$s as kind, 1 as d from new_rows where %2$s', tg_argv[0], tg_argv[1]);
    elsif tg_op = 'DELETE' then
        delta := format('select account_id, %1$s as kind, -1 as d from old_rows where %2$s', tg_argv[0], tg_argv[1]);
    else
        delta := format('select account_id, %1$s as kind, 1 as d from new_rows where %2$s
                         union all select account_id, %1$s, -1 from old_rows where %2$s', tg_argv[0], tg_argv[1]);
    end if;
    execute format('insert into account_counts as c (account_id, kind, n)
                    select account_id, kind, sum(d) from (%s) t group by account_id, kind
                    having sum(d) <> 0 order by account_id, kind
                    on conflict (account_id, kind) do update set n = c.n + excluded.n', delta);
    return null;
end
$$;

create trigger contacts_count_insert after insert on contacts referencing new table as new_rows
    for each statement execute function count_rows('''contacts''', 'deleted_at is null');
create trigger contacts_count_delete after delete on contacts referencing old table as old_rows
    for each statement execute function count_rows('''contacts''', 'deleted_at is null');
create trigger contacts_count_update after update on contacts referencing old table as old_rows new table as new_rows
    for each statement execute function count_rows('''contacts''', 'deleted_at is null');
create trigger contact_tags_count_tags_insert after insert on contact_tags referencing new table as new_rows
    for each statement execute function count_rows('''tag:'' || tag', 'live');
create trigger contact_tags_count_tags_delete after delete on contact_tags referencing old table as old_rows
    for each statement execute function count_rows('''tag:'' || tag', 'live');
create trigger contact_tags_count_tags_update after update on contact_tags referencing old table as old_rows new table as new_rows
    for each statement execute function count_rows('''tag:'' || tag', 'live');
create trigger conversations_count_insert after insert on conversations referencing new table as new_rows
    for each statement execute function count_rows('''conversations''', 'true');
create trigger conversations_count_delete after delete on conversations referencing old table as old_rows
    for each statement execute function count_rows('''conversations''', 'true');
create trigger messages_count_insert after insert on messages referencing new table as new_rows
    for each statement execute function count_rows('''messages''', 'true');
create trigger messages_count_delete after delete on messages referencing old table as old_rows
    for each statement execute function count_rows('''messages''', 'true');
create trigger notes_count_insert after insert on notes referencing new table as new_rows
    for each statement execute function count_rows('''notes''', 'true');
create trigger notes_count_delete after delete on notes referencing old table as old_rows
    for each statement execute function count_rows('''notes''', 'true');
create trigger tasks_count_insert after insert on tasks referencing new table as new_rows
    for each statement execute function count_rows('''tasks''', 'true');
create trigger tasks_count_delete after delete on tasks referencing old table as old_rows
    for each statement execute function count_rows('''tasks''', 'true');
create trigger appointments_count_insert after insert on appointments referencing new table as new_rows
    for each statement execute function count_rows('''appointments''', 'true');
create trigger appointments_count_delete after delete on appointments referencing old table as old_rows
    for each statement execute function count_rows('''appointments''', 'true');
create trigger opportunities_count_insert after insert on opportunities referencing new table as new_rows
    for each statement execute function count_rows('''opportunities''', 'true');
create trigger opportunities_count_delete after delete on opportunities referencing old table as old_rows
    for each statement execute function count_rows('''opportunities''', 'true');
create trigger opportunities_count_open_opportunities_insert after insert on opportunities referencing new table as new_rows
    for each statement execute function count_rows('''open_opportunities''', 'status = ''open''');
create trigger opportunities_count_open_opportunities_delete after delete on opportunities referencing old table as old_rows
    for each statement execute function count_rows('''open_opportunities''', 'status = ''open''');
create trigger opportunities_count_open_opportunities_update after update on opportunities referencing old table as old_rows new table as new_rows
    for each statement execute function count_rows('''open_opportunities''', 'status = ''open''');
create trigger manual_actions_count_insert after insert on manual_actions referencing new table as new_rows
    for each statement execute function count_rows('''manual_actions''', 'true');
create trigger manual_actions_count_delete after delete on manual_actions referencing old table as old_rows
    for each statement execute function count_rows('''manual_actions''', 'true');
create trigger activities_count_insert after insert on activities referencing new table as new_rows
    for each statement execute function count_rows('''activities''', 'true');
create trigger activities_count_delete after delete on activities referencing old table as old_rows
    for each statement execute function count_rows('''activities''', 'true');
create trigger files_count_insert after insert on files referencing new table as new_rows
    for each statement execute function count_rows('''files''', 'true');
create trigger files_count_delete after delete on files referencing old table as old_rows
    for each statement execute function count_rows('''files''', 'true');
create trigger list_members_count_list_memberships_insert after insert on list_members referencing new table as new_rows
    for each statement execute function count_rows('''list_memberships''', 'true');
create trigger list_members_count_list_memberships_delete after delete on list_members referencing old table as old_rows
    for each statement execute function count_rows('''list_memberships''', 'true');
create trigger community_groups_count_group_ownerships_insert after insert on community_groups referencing new table as new_rows
    for each statement execute function count_rows('''group_ownerships''', 'owner_contact_id is not null');
create trigger community_groups_count_group_ownerships_delete after delete on community_groups referencing old table as old_rows
    for each statement execute function count_rows('''group_ownerships''', 'owner_contact_id is not null');
create trigger community_groups_count_group_ownerships_update after update on community_groups referencing old table as old_rows new table as new_rows
    for each statement execute function count_rows('''group_ownerships''', 'owner_contact_id is not null');
create trigger enrollments_count_active_enrollments_insert after insert on enrollments referencing new table as new_rows
    for each statement execute function count_rows('''active_enrollments''', 'status = ''active''');
create trigger enrollments_count_active_enrollments_delete after delete on enrollments referencing old table as old_rows
    for each statement execute function count_rows('''active_enrollments''', 'status = ''active''');
create trigger enrollments_count_active_enrollments_update after update on enrollments referencing old table as old_rows new table as new_rows
    for each statement execute function count_rows('''active_enrollments''', 'status = ''active''');

-- ---------------------------------------------------------------------------------
-- The time-dependent warnings of "select all" (U4), counted per account: upcoming
-- appointments, and contacts that other users worked on in the last 7 days (in contact
-- order, so counting distinct contacts needs no sort).
create index appointments_upcoming on appointments(account_id, starts_at) where status = 'scheduled';
create index activities_by_contact on activities(account_id, contact_id, created_at, user_id);
