-- The time zone a user's browser reports (an IANA name such as Europe/Paris); times on
-- their pages are shown in it. NULL until the browser has told it: those users read UTC.
alter table users add column time_zone text;
