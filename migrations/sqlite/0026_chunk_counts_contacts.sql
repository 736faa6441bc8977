-- A deletion chunk also settles the contacts counter and the tag counters once, and
-- unflags its contacts' tags with one statement, rather than per contact: while the
-- chunk holds its row in count_pause (migration 0025), marking a contact deleted
-- neither counts it nor follows it with its tags; the chunk does both for all its
-- contacts together. Every other write (a restore, a purge, another CRM component) is
-- never paused and keeps these triggers as before.

drop trigger contacts_count_update;
create trigger contacts_count_update after update of deleted_at, account_id on contacts
    when not exists (select 1 from count_pause) begin
    update account_counts set n = n - 1 where old.deleted_at is null and account_id = old.account_id and kind = 'contacts';
    insert into account_counts (account_id, kind, n) select new.account_id, 'contacts', 1 where new.deleted_at is null
        on conflict (account_id, kind) do update set n = n + 1;
end;

drop trigger contact_tags_follow_contact;
create trigger contact_tags_follow_contact after update of deleted_at on contacts
    when (old.deleted_at is null) <> (new.deleted_at is null) and not exists (select 1 from count_pause) begin
    update contact_tags set live = (new.deleted_at is null) where contact_id = new.id;
end;

-- the chunk's one statement that unflags its contacts' tags, counted by the chunk
drop trigger contact_tags_count_tags_update;
create trigger contact_tags_count_tags_update after update of live, tag, account_id on contact_tags
    when not exists (select 1 from count_pause) begin
    update account_counts set n = n - 1 where old.live and account_id = old.account_id and kind = 'tag:' || old.tag;
    insert into account_counts (account_id, kind, n) select new.account_id, 'tag:' || new.tag, 1 where new.live
        on conflict (account_id, kind) do update set n = n + 1;
end;
