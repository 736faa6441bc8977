-- A deletion chunk settles the counters of what R2 removes once per kind, rather than
-- once per row. While the chunk runs it holds a row in count_pause; the per-row counter
-- triggers that its R2 statements would fire stand still while that row exists, and the
-- chunk subtracts what each statement removed itself. SQLite has one writer at a time
-- and the chunk deletes the row again before it commits, so no other writer (another
-- CRM component, a restore, a purge) ever sees it: every other write is counted by the
-- triggers as before.
create table count_pause (one integer primary key check (one = 1));

drop trigger conversations_count_delete;
create trigger conversations_count_delete after delete on conversations
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'conversations', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger messages_count_delete;
create trigger messages_count_delete after delete on messages
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'messages', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger notes_count_delete;
create trigger notes_count_delete after delete on notes
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'notes', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger tasks_count_delete;
create trigger tasks_count_delete after delete on tasks
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'tasks', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger appointments_count_delete;
create trigger appointments_count_delete after delete on appointments
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'appointments', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger opportunities_count_delete;
create trigger opportunities_count_delete after delete on opportunities
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'opportunities', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger opportunities_count_open_opportunities_delete;
create trigger opportunities_count_open_opportunities_delete after delete on opportunities
    when old.status = 'open' and not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'open_opportunities', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger manual_actions_count_delete;
create trigger manual_actions_count_delete after delete on manual_actions
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'manual_actions', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger activities_count_delete;
create trigger activities_count_delete after delete on activities
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'activities', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger files_count_delete;
create trigger files_count_delete after delete on files
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'files', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger list_members_count_list_memberships_delete;
create trigger list_members_count_list_memberships_delete after delete on list_members
    when not exists (select 1 from count_pause) begin
    insert into account_counts (account_id, kind, n) values (old.account_id, 'list_memberships', -1)
        on conflict (account_id, kind) do update set n = n - 1;
end;

drop trigger community_groups_count_group_ownerships_update;
create trigger community_groups_count_group_ownerships_update after update of owner_contact_id, account_id on community_groups
    when not exists (select 1 from count_pause) begin
    update account_counts set n = n - 1 where old.owner_contact_id is not null and account_id = old.account_id and kind = 'group_ownerships';
    insert into account_counts (account_id, kind, n) select new.account_id, 'group_ownerships', 1 where new.owner_contact_id is not null
        on conflict (account_id, kind) do update set n = n + 1;
end;

drop trigger enrollments_count_active_enrollments_update;
create trigger enrollments_count_active_enrollments_update after update of status, account_id on enrollments
    when not exists (select 1 from count_pause) begin
    update account_counts set n = n - 1 where old.status = 'active' and account_id = old.account_id and kind = 'active_enrollments';
    insert into account_counts (account_id, kind, n) select new.account_id, 'active_enrollments', 1 where new.status = 'active'
        on conflict (account_id, kind) do update set n = n + 1;
end;
