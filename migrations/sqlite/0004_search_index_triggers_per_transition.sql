-- A deletion or a restore touches the search index with one statement, not two: one
-- trigger per transition, each guarded by its WHEN clause, so the statement that does
-- not apply is never run. (A bulk deletion of a million contacts fires them a million
-- times.) The conditions exclude each other, so the order the triggers fire in does
-- not matter.
drop trigger contacts_search_update;

create trigger contacts_search_unlist after update of deleted_at on contacts
    when old.deleted_at is null and new.deleted_at is not null begin
    delete from contacts_search where rowid = old.account_id * 1099511627776 + old.id;
end;

create trigger contacts_search_relist after update of deleted_at on contacts
    when old.deleted_at is not null and new.deleted_at is null begin
    insert into contacts_search (rowid, search_text) values (new.account_id * 1099511627776 + new.id, new.search_text);
end;

-- a live contact whose text or account changes (no path does it today)
create trigger contacts_search_change after update of search_text, account_id on contacts
    when old.deleted_at is null and new.deleted_at is null
     and (old.search_text is not new.search_text or old.account_id is not new.account_id) begin
    delete from contacts_search where rowid = old.account_id * 1099511627776 + old.id;
    insert into contacts_search (rowid, search_text) values (new.account_id * 1099511627776 + new.id, new.search_text);
end;
