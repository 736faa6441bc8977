-- Marking a contact deleted no longer rewrites the search index: the contact's key goes
-- into contacts_search_masked, and every search leaves masked keys out (R3): a page
-- reads its contacts and keeps the live ones, a count skips the masked keys. Deleting
-- a contact's entries from the index means reading its text back and tokenizing it
-- again, about 30 µs a contact; a bulk deletion now leaves that to the index's tidying
-- (Repo::tidy_search_index), which removes masked contacts from the index in short
-- steps after the deletion, and then drops their keys.
--
-- So a contact has entries in the index when it is live, or when it is deleted and its
-- key is still masked. A restore unmasks the key, or puts the entries back once they
-- were removed; a purge or an erasure removes the entries when they are still there.
-- Keys are account_id * 2^40 + contact id, as in migration 0003.
create table contacts_search_masked (key integer primary key);

drop trigger contacts_search_unlist;
create trigger contacts_search_unlist after update of deleted_at on contacts
    when old.deleted_at is null and new.deleted_at is not null begin
    insert or ignore into contacts_search_masked (key) values (new.account_id * 1099511627776 + new.id);
end;

drop trigger contacts_search_relist;
create trigger contacts_search_relist after update of deleted_at on contacts
    when old.deleted_at is not null and new.deleted_at is null begin
    insert into contacts_search (rowid, search_text)
        select new.account_id * 1099511627776 + new.id, new.search_text
        where not exists (select 1 from contacts_search_masked where key = new.account_id * 1099511627776 + new.id);
    delete from contacts_search_masked where key = new.account_id * 1099511627776 + new.id;
end;

drop trigger contacts_search_delete;
create trigger contacts_search_delete after delete on contacts
    when old.deleted_at is null
      or exists (select 1 from contacts_search_masked where key = old.account_id * 1099511627776 + old.id) begin
    delete from contacts_search where rowid = old.account_id * 1099511627776 + old.id;
    delete from contacts_search_masked where key = old.account_id * 1099511627776 + old.id;
end;

-- a contact whose text or account changes while it has entries (no path does it today,
-- nor changes its state in the same statement)
drop trigger contacts_search_change;
create trigger contacts_search_change after update of search_text, account_id on contacts
    when (old.search_text is not new.search_text or old.account_id is not new.account_id)
     and ((old.deleted_at is null and new.deleted_at is null)
       or (old.deleted_at is not null and new.deleted_at is not null
           and exists (select 1 from contacts_search_masked where key = old.account_id * 1099511627776 + old.id))) begin
    delete from contacts_search where rowid = old.account_id * 1099511627776 + old.id;
    insert into contacts_search (rowid, search_text) values (new.account_id * 1099511627776 + new.id, new.search_text);
    update contacts_search_masked set key = new.account_id * 1099511627776 + new.id
        where key = old.account_id * 1099511627776 + old.id;
end;
