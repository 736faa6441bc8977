-- The tags of contacts a statement deleted or restored follow them with a join on the
-- new rows alone: a tag whose flag differs from its contact's new state is set to it.
-- The join of old and new rows by id sorted both transition tables, whole rows wide:
-- about a third of the time this trigger took when a deletion marked many contacts.
create or replace function contact_tags_follow_contact() returns trigger language plpgsql as $$
begin
    update contact_tags t set live = (n.deleted_at is null)
    from new_rows n
    where t.contact_id = n.id and t.live <> (n.deleted_at is null);
    return null;
end
$$;
