//! The full record of a selection of contacts (backup before deleting): the rows of
//! every kind a deletion removes, read a page at a time in keyset order so an export
//! of any size holds only one page in memory.

use super::sql::{from_millis, on_db, push_id_list, push_live_selection};
use super::{Repo, RepoResult};
use crate::domain::{AccountId, ContactId, Selection};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

/// How a column of a record table is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Int,
    Text,
    OptText,
    Time,
    OptTime,
}

/// One cell of a record row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

/// A kind of data attached to contacts, exported as one CSV file with a `contact_id`
/// column. The first two selected columns are the contact id and a key unique within
/// the contact, which orders the rows and resumes the next page.
#[derive(Debug, Clone, Copy)]
pub struct RecordTable {
    /// The CSV file's name in the archive.
    pub file: &'static str,
    /// The CSV header, one name per selected column.
    pub header: &'static [&'static str],
    columns: &'static str,
    kinds: &'static [Col],
    from: &'static str,
    key: &'static str,
}

use Col::*;

/// Everything a deletion removes for good (R2), in the order of the archive.
pub const RECORD_TABLES: [RecordTable; 10] = [
    RecordTable {
        file: "conversations.csv",
        header: &["contact_id", "conversation_id", "channel", "subject", "created_at"],
        columns: "t.contact_id, t.id, t.channel, t.subject, t.created_at",
        kinds: &[Int, Int, Text, Text, Time],
        from: "conversations t",
        key: "t.id",
    },
    RecordTable {
        file: "messages.csv",
        header: &["contact_id", "message_id", "conversation_id", "direction", "body", "created_at"],
        columns: "t.contact_id, t.id, t.conversation_id, t.direction, t.body, t.created_at",
        kinds: &[Int, Int, Int, Text, Text, Time],
        from: "messages t",
        key: "t.id",
    },
    RecordTable {
        file: "notes.csv",
        header: &["contact_id", "note_id", "author_email", "author_name", "body", "created_at"],
        columns: "t.contact_id, t.id, u.email, u.name, t.body, t.created_at",
        kinds: &[Int, Int, OptText, OptText, Text, Time],
        from: "notes t left join users u on u.id = t.user_id and u.account_id = t.account_id",
        key: "t.id",
    },
    RecordTable {
        file: "tasks.csv",
        header: &["contact_id", "task_id", "title", "status", "due_at", "assigned_to", "created_at"],
        columns: "t.contact_id, t.id, t.title, t.status, t.due_at, u.email, t.created_at",
        kinds: &[Int, Int, Text, Text, OptTime, OptText, Time],
        from: "tasks t left join users u on u.id = t.user_id and u.account_id = t.account_id",
        key: "t.id",
    },
    RecordTable {
        file: "appointments.csv",
        header: &["contact_id", "appointment_id", "title", "status", "starts_at", "assigned_to", "created_at"],
        columns: "t.contact_id, t.id, t.title, t.status, t.starts_at, u.email, t.created_at",
        kinds: &[Int, Int, Text, Text, Time, OptText, Time],
        from: "appointments t left join users u on u.id = t.user_id and u.account_id = t.account_id",
        key: "t.id",
    },
    RecordTable {
        file: "opportunities.csv",
        header: &["contact_id", "opportunity_id", "name", "status", "value_cents", "created_at"],
        columns: "t.contact_id, t.id, t.name, t.status, t.value_cents, t.created_at",
        kinds: &[Int, Int, Text, Text, Int, Time],
        from: "opportunities t",
        key: "t.id",
    },
    RecordTable {
        file: "manual_actions.csv",
        header: &["contact_id", "manual_action_id", "kind", "description", "status", "assigned_to", "created_at"],
        columns: "t.contact_id, t.id, t.kind, t.description, t.status, u.email, t.created_at",
        kinds: &[Int, Int, Text, Text, Text, OptText, Time],
        from: "manual_actions t left join users u on u.id = t.user_id and u.account_id = t.account_id",
        key: "t.id",
    },
    RecordTable {
        file: "activities.csv",
        header: &["contact_id", "activity_id", "kind", "summary", "by_user", "created_at"],
        columns: "t.contact_id, t.id, t.kind, t.summary, u.email, t.created_at",
        kinds: &[Int, Int, Text, Text, OptText, Time],
        from: "activities t left join users u on u.id = t.user_id and u.account_id = t.account_id",
        key: "t.id",
    },
    RecordTable {
        file: "list_memberships.csv",
        header: &["contact_id", "list_id", "list_name", "added_at"],
        columns: "t.contact_id, t.list_id, l.name, t.added_at",
        kinds: &[Int, Int, Text, Time],
        from: "list_members t join lists l on l.id = t.list_id",
        key: "t.list_id",
    },
    FILES_TABLE,
];

/// The attached files' index; the web layer adds each file's path in the archive.
pub const FILES_TABLE: RecordTable = RecordTable {
    file: "files.csv",
    header: &["contact_id", "file_id", "name", "content_type", "size_bytes", "created_at"],
    columns: "t.contact_id, t.id, t.name, t.content_type, t.size_bytes, t.created_at",
    kinds: &[Int, Int, Text, Text, Int, Time],
    from: "files t",
    key: "t.id",
};

/// Where the next page of a record table starts: after this (contact id, key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCursor {
    pub contact: i64,
    pub key: i64,
}

impl RecordCursor {
    /// The cursor after a row of [`Repo::record_page`].
    pub fn after(row: &[Value]) -> RecordCursor {
        let int = |v: &Value| if let Value::Int(i) = v { *i } else { 0 };
        RecordCursor { contact: int(&row[0]), key: int(&row[1]) }
    }
}

impl Repo {
    /// The ids of a selection's live contacts in id order, `limit` at a time after `after`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn selection_ids_page(
        &self,
        account: AccountId,
        sel: &Selection,
        after: i64,
        limit: i64,
    ) -> RepoResult<Vec<ContactId>> {
        let ids: Vec<i64> = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select c.id from contacts c where ");
            push_live_selection(&mut qb, account, sel);
            qb.push(" and c.id > ").push_bind(after).push(" order by c.id limit ").push_bind(limit);
            qb.build_query_scalar().fetch_all(pool).await?
        });
        Ok(ids.into_iter().map(ContactId).collect())
    }

    /// One page of `table`'s rows of the `contacts` (which the caller took from a live
    /// selection of the account), ordered by contact and key, after `cursor`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_page(
        &self,
        account: AccountId,
        table: &RecordTable,
        contacts: &[ContactId],
        cursor: RecordCursor,
        limit: i64,
    ) -> RepoResult<Vec<Vec<Value>>> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let key = table.key;
        let rows = on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new(format!("select {} from {} where t.account_id = ", table.columns, table.from));
            qb.push_bind(account.0).push(" and t.contact_id in (");
            push_id_list(&mut qb, contacts);
            qb.push(") and (t.contact_id > ")
                .push_bind(cursor.contact)
                .push(" or (t.contact_id = ")
                .push_bind(cursor.contact)
                .push(format!(" and {key} > "))
                .push_bind(cursor.key)
                .push(format!(")) order by t.contact_id, {key} limit "))
                .push_bind(limit);
            let rows = qb.build().fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut cells = Vec::with_capacity(table.kinds.len());
                for (i, kind) in table.kinds.iter().enumerate() {
                    cells.push(match kind {
                        Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
                        Text | OptText => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
                        Time | OptTime => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, |ms| Value::Time(from_millis(ms))),
                    });
                }
                out.push(cells);
            }
            out
        });
        Ok(rows)
    }

    /// The contents of attached files of the account, by file id (a file removed in the
    /// meantime is missing from the answer). The caller bounds how many bytes it asks for.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn file_contents(&self, account: AccountId, file_ids: &[i64]) -> RepoResult<Vec<(i64, Vec<u8>)>> {
        if file_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_db!(self, |pool, DB| {
            let mut qb = QueryBuilder::<DB>::new("select id, content from files where account_id = ");
            qb.push_bind(account.0).push(" and id in (");
            let mut sep = qb.separated(", ");
            for id in file_ids {
                sep.push_bind(*id);
            }
            qb.push(") order by id");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }
}
