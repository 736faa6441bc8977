//! "Export full record": a ZIP of the selected contacts with everything a deletion
//! removes for good, for a backup before deleting. The archive is written while it is
//! downloaded, a page of rows at a time, so memory stays flat whatever the selection.
//!
//! Layout (also in the archive's README.txt and the project README):
//! - `contacts.csv`: the contacts, the same columns as the CSV export;
//! - `conversations.csv`, `messages.csv`, `notes.csv`, `tasks.csv`, `appointments.csv`,
//!   `opportunities.csv`, `manual_actions.csv`, `activities.csv`, `list_memberships.csv`:
//!   one file per kind, each row with the `contact_id` it belongs to;
//! - `files.csv`: the attached files, with the path of each in the archive;
//! - `files/<contact id>/<name>`: the files themselves.

use super::contacts::{filter_slug, rfc3339};
use super::error::{AppError, WebResult};
use super::export::{csv_chunk, neutralize};
use super::form::Fields;
use super::session::CurrentUser;
use crate::domain::{AccountId, ContactId, Selection};
use crate::repo::export::{RecordCursor, RecordTable, Value, FILES_TABLE, RECORD_TABLES};
use crate::repo::{Repo, RepoError};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};
use chrono::{Datelike, Timelike, Utc};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::rc::Rc;
use tokio::sync::mpsc;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

/// Contacts read per page of `contacts.csv`, and per group whose rows of each kind are
/// read together.
const CONTACT_PAGE: i64 = 500;
/// Rows of one kind read per page.
const ROW_PAGE: i64 = 2000;
/// Attached files read with one query: at most this many, or as many as reach this
/// many bytes (a single larger file is read alone).
const FILE_BATCH: usize = 100;
const FILE_BATCH_BYTES: i64 = 4 * 1024 * 1024;
/// The archive's bytes go to the response in pieces of about this size.
const SEND_AT: usize = 64 * 1024;
/// A file's content is compressed this much at a time between two sends.
const WRITE_PIECE: usize = 256 * 1024;
/// Pieces of the archive waiting for the client: with [`SEND_AT`], what a slow download
/// can hold in memory.
const QUEUE: usize = 4;

/// `GET /contacts/export.zip`: the same selection parameters as the CSV export
/// (repeated `ids`, or `select_all` with `q`, `tag`, `as_of` and `exclude`).
pub async fn export(CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let sel = f.selection(Some(repo.now()))?;
    let account = user.account_id;
    let count = repo.count_selection(account, &sel).await?;
    if count == 0 {
        return Err(AppError::NotFound("None of the selected contacts exist in this account; there is nothing to export.".into()));
    }
    let name = match &sel {
        Selection::Ids(ids) if ids.len() == 1 => format!("contact-{}-full-record.zip", ids[0]),
        Selection::Ids(_) => "contacts-selected-full-record.zip".to_string(),
        Selection::AllMatching { filter, .. } => format!("contacts-{}-full-record.zip", filter_slug(filter)),
    };
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, actix_web::Error>>(QUEUE);
    let repo = repo.get_ref().clone();
    actix_web::rt::spawn(async move {
        match write_archive(&repo, account, &sel, count, tx.clone()).await {
            Ok(()) | Err(Stop::Closed) => {}
            Err(Stop::Failed(e)) => {
                // The status line has gone out already: end the body with an error so the
                // download is seen as broken rather than silently short.
                tracing::error!(error = %e, "full record export failed midway");
                let _ = tx.send(Err(actix_web::error::ErrorInternalServerError("export failed"))).await;
            }
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

/// Why writing the archive stopped early.
enum Stop {
    /// The client went away: nothing to report.
    Closed,
    Failed(String),
}

impl From<RepoError> for Stop {
    fn from(e: RepoError) -> Self {
        Stop::Failed(e.to_string())
    }
}
impl From<zip::result::ZipError> for Stop {
    fn from(e: zip::result::ZipError) -> Self {
        Stop::Failed(e.to_string())
    }
}
impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Failed(e.to_string())
    }
}
impl From<csv::Error> for Stop {
    fn from(e: csv::Error) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// The bytes the zip writer produced since the last send.
#[derive(Clone, Default)]
struct Pending(Rc<RefCell<Vec<u8>>>);

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A ZIP written entry after entry into the response.
struct Archive {
    zip: ZipWriter<StreamWriter<Pending>>,
    pending: Pending,
    tx: mpsc::Sender<Result<Bytes, actix_web::Error>>,
    modified: zip::DateTime,
}

impl Archive {
    fn new(tx: mpsc::Sender<Result<Bytes, actix_web::Error>>) -> Archive {
        let pending = Pending::default();
        let now = Utc::now();
        let modified = zip::DateTime::from_date_and_time(
            now.year().clamp(1980, 2107) as u16,
            now.month() as u8,
            now.day() as u8,
            now.hour() as u8,
            now.minute() as u8,
            now.second() as u8,
        )
        .unwrap_or_default();
        Archive { zip: ZipWriter::new_stream(pending.clone()).set_auto_large_file(), pending, tx, modified }
    }

    fn start(&mut self, name: &str, compress: bool) -> Result<(), Stop> {
        let method = if compress { CompressionMethod::Deflated } else { CompressionMethod::Stored };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(self.modified)
            .unix_permissions(0o644);
        self.zip.start_file(name, options)?;
        Ok(())
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), Stop> {
        for piece in data.chunks(WRITE_PIECE) {
            self.zip.write_all(piece)?;
            self.send(false).await?;
        }
        Ok(())
    }

    /// Sends what is pending: once there is [`SEND_AT`] of it, or all of it (`all`).
    async fn send(&mut self, all: bool) -> Result<(), Stop> {
        let chunk = {
            let mut p = self.pending.0.borrow_mut();
            if p.is_empty() || (!all && p.len() < SEND_AT) {
                return Ok(());
            }
            std::mem::take(&mut *p)
        };
        self.tx.send(Ok(Bytes::from(chunk))).await.map_err(|_| Stop::Closed)
    }

    async fn finish(self) -> Result<(), Stop> {
        let Archive { zip, pending, tx, .. } = self;
        zip.finish()?;
        let rest = std::mem::take(&mut *pending.0.borrow_mut());
        if !rest.is_empty() {
            tx.send(Ok(Bytes::from(rest))).await.map_err(|_| Stop::Closed)?;
        }
        Ok(())
    }
}

async fn write_archive(
    repo: &Repo,
    account: AccountId,
    sel: &Selection,
    count: i64,
    tx: mpsc::Sender<Result<Bytes, actix_web::Error>>,
) -> Result<(), Stop> {
    let mut zip = Archive::new(tx);
    zip.start("README.txt", true)?;
    zip.write(readme(count).as_bytes()).await?;

    zip.start("contacts.csv", true)?;
    let mut after = 0;
    let mut first = true;
    loop {
        let rows = repo.selection_page(account, sel, after, CONTACT_PAGE).await?;
        zip.write(&csv_chunk(&rows, first)?).await?;
        first = false;
        match rows.last() {
            Some(last) if rows.len() as i64 == CONTACT_PAGE => after = last.id,
            _ => break,
        }
    }

    for table in &RECORD_TABLES {
        let is_files = table.file == FILES_TABLE.file;
        zip.start(table.file, true)?;
        let mut header: Vec<&str> = table.header.to_vec();
        if is_files {
            header.push("path_in_archive");
        }
        zip.write(&csv_rows(std::iter::once(header))?).await?;
        let mut names = FileNames::default();
        let mut groups = ContactGroups::new(sel);
        while let Some(contacts) = groups.next(repo, account).await? {
            let mut cursor = RecordCursor::default();
            loop {
                let rows = repo.record_page(account, table, &contacts, cursor, ROW_PAGE).await?;
                let out = csv_rows(rows.iter().map(|row| {
                    let mut cells: Vec<String> = row.iter().map(cell).collect();
                    if is_files {
                        cells.push(names.path(row));
                    }
                    cells
                }))?;
                zip.write(&out).await?;
                match rows.last() {
                    Some(last) if rows.len() as i64 == ROW_PAGE => cursor = RecordCursor::after(last),
                    _ => break,
                }
            }
        }
    }

    // The files themselves, named as files.csv says (the same order, the same names).
    let mut names = FileNames::default();
    let mut groups = ContactGroups::new(sel);
    while let Some(contacts) = groups.next(repo, account).await? {
        let mut cursor = RecordCursor::default();
        loop {
            let rows = repo.record_page(account, &FILES_TABLE, &contacts, cursor, ROW_PAGE).await?;
            // (file id, path, compress), read together up to FILE_BATCH_BYTES of content
            let mut batch: Vec<(i64, String, bool)> = Vec::new();
            let mut batch_bytes = 0;
            for (i, row) in rows.iter().enumerate() {
                let path = names.path(row);
                let id = RecordCursor::after(row).key;
                let content_type = if let Value::Text(t) = &row[3] { t.as_str() } else { "" };
                let size = if let Value::Int(n) = row[4] { n.max(0) } else { 0 };
                batch.push((id, path, worth_compressing(content_type)));
                batch_bytes += size;
                if batch_bytes >= FILE_BATCH_BYTES || batch.len() >= FILE_BATCH || i + 1 == rows.len() {
                    let ids: Vec<i64> = batch.iter().map(|b| b.0).collect();
                    let mut contents: HashMap<i64, Vec<u8>> = repo.file_contents(account, &ids).await?.into_iter().collect();
                    for (id, path, compress) in batch.drain(..) {
                        // a file removed since its row was read is left out
                        let Some(content) = contents.remove(&id) else {
                            continue;
                        };
                        zip.start(&path, compress)?;
                        zip.write(&content).await?;
                    }
                    batch_bytes = 0;
                }
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == ROW_PAGE => cursor = RecordCursor::after(last),
                _ => break,
            }
        }
    }
    zip.finish().await
}

/// The selection's contacts, [`CONTACT_PAGE`] ids at a time.
struct ContactGroups<'a> {
    sel: &'a Selection,
    after: i64,
    done: bool,
}

impl<'a> ContactGroups<'a> {
    fn new(sel: &'a Selection) -> Self {
        ContactGroups { sel, after: 0, done: false }
    }

    async fn next(&mut self, repo: &Repo, account: AccountId) -> Result<Option<Vec<ContactId>>, RepoError> {
        if self.done {
            return Ok(None);
        }
        let ids = repo.selection_ids_page(account, self.sel, self.after, CONTACT_PAGE).await?;
        self.done = (ids.len() as i64) < CONTACT_PAGE;
        match ids.last() {
            Some(last) => {
                self.after = last.0;
                Ok(Some(ids))
            }
            None => Ok(None),
        }
    }
}

fn csv_rows<I, R, S>(rows: I) -> Result<Vec<u8>, csv::Error>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r)?;
    }
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error().into())
}

/// A cell as the CSV export writes it: times in RFC 3339 (UTC), text guarded against
/// spreadsheet formulas.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        Value::Text(t) => neutralize(t),
        Value::Time(t) => rfc3339(*t),
    }
}

/// Formats that are compressed already gain nothing from deflate.
fn worth_compressing(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    let packed = (t.starts_with("image/") && !t.contains("svg") && !t.contains("bmp"))
        || t.starts_with("video/")
        || t.starts_with("audio/")
        || matches!(
            t.as_str(),
            "application/zip" | "application/gzip" | "application/x-7z-compressed" | "application/x-rar-compressed"
        );
    !packed
}

/// The paths of a contact's files in the archive, `files/<contact id>/<safe name>`, each
/// unique within the contact. Rows come grouped by contact, so only the current
/// contact's names are remembered.
#[derive(Default)]
struct FileNames {
    contact: Option<i64>,
    used: HashSet<String>,
}

impl FileNames {
    /// The path of the file of a [`FILES_TABLE`] row (contact_id, file_id, name, …).
    fn path(&mut self, row: &[Value]) -> String {
        let at = RecordCursor::after(row);
        let stored = if let Value::Text(t) = &row[2] { t.as_str() } else { "" };
        if self.contact != Some(at.contact) {
            self.contact = Some(at.contact);
            self.used.clear();
        }
        let name = unique_name(&safe_file_name(stored, at.key), &mut self.used);
        format!("files/{}/{}", at.contact, name)
    }
}

/// The longest file name kept, in characters (an extension included).
const MAX_NAME_CHARS: usize = 120;

/// A stored file name made safe to unpack anywhere: no folder separators (so no path
/// leaves `files/<contact>/`), no control or reserved characters, no leading dots, no
/// trailing dots or spaces, no device names, not too long; `file-<id>` when nothing is left.
pub(crate) fn safe_file_name(stored: &str, file_id: i64) -> String {
    let cleaned: String = stored
        .chars()
        .map(|c| if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_start_matches(['.', ' ']).trim_end_matches(['.', ' ']);
    let (stem, ext) = split_ext(trimmed);
    let keep = MAX_NAME_CHARS.saturating_sub(ext.chars().count());
    let stem: String = stem.chars().take(keep).collect();
    let stem = stem.trim_end_matches(['.', ' ']);
    if stem.is_empty() || stem.chars().all(|c| c == '_') && ext.is_empty() {
        return format!("file-{file_id}{ext}");
    }
    const DEVICES: [&str; 4] = ["con", "prn", "aux", "nul"];
    let lower = stem.to_ascii_lowercase();
    let device = DEVICES.contains(&lower.as_str())
        || ((lower.starts_with("com") || lower.starts_with("lpt")) && lower.len() == 4 && lower.as_bytes()[3].is_ascii_digit());
    if device {
        format!("_{stem}{ext}")
    } else {
        format!("{stem}{ext}")
    }
}

/// "report.final.pdf" -> ("report.final", ".pdf"); "README" -> ("README", ""). An
/// extension is up to 15 letters and digits after the last dot.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && (2..=16).contains(&(name.len() - i)) && name[i + 1..].chars().all(|c| c.is_ascii_alphanumeric()) => {
            (&name[..i], &name[i..])
        }
        _ => (name, ""),
    }
}

/// `name`, or "name (2).ext", "name (3).ext"… when a name already taken in the folder
/// equals it ignoring case (as on Windows and macOS).
fn unique_name(name: &str, used: &mut HashSet<String>) -> String {
    let (stem, ext) = split_ext(name);
    let mut candidate = name.to_string();
    let mut n = 2;
    while !used.insert(candidate.to_lowercase()) {
        candidate = format!("{stem} ({n}){ext}");
        n += 1;
    }
    candidate
}

fn readme(count: i64) -> String {
    let tables: Vec<&str> = RECORD_TABLES.iter().map(|t: &RecordTable| t.file).collect();
    format!(
        "Full record of {count} contact{s}, exported {at} (UTC).\r\n\
         \r\n\
         contacts.csv: one row per contact, the same columns as the CSV export (it can be\r\n\
         imported again on the Import page).\r\n\
         \r\n\
         {tables}: one file per kind of data, each row with the contact_id it belongs to\r\n\
         (the id column of contacts.csv).\r\n\
         \r\n\
         files/<contact id>/<name>: the attached files. files.csv gives each file's original\r\n\
         name and its path in this archive (names are made safe to unpack and unique).\r\n\
         \r\n\
         Times are in UTC (RFC 3339). A text cell that starts with = + - @ has an apostrophe\r\n\
         put before it, so a spreadsheet shows it as text instead of running it.\r\n",
        s = if count == 1 { "" } else { "s" },
        at = rfc3339(Utc::now()),
        tables = tables.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::{safe_file_name, unique_name};
    use std::collections::HashSet;

    #[test]
    fn stored_names_cannot_leave_their_folder() {
        assert_eq!(safe_file_name("../../etc/passwd", 7), "_.._etc_passwd");
        assert_eq!(safe_file_name("..\\..\\boot.ini", 7), "_.._boot.ini");
        assert_eq!(safe_file_name("/abs/path.txt", 7), "_abs_path.txt");
        assert_eq!(safe_file_name("..", 7), "file-7");
        assert_eq!(safe_file_name("", 7), "file-7");
        assert_eq!(safe_file_name(".hidden", 7), "hidden");
        assert_eq!(safe_file_name("a\u{0}b\nc.txt", 7), "a_b_c.txt");
        assert_eq!(safe_file_name("C:report?.pdf", 7), "C_report_.pdf");
        assert_eq!(safe_file_name("con.txt", 7), "_con.txt");
        assert_eq!(safe_file_name("name. ", 7), "name");
        assert_eq!(safe_file_name("agreement.txt", 7), "agreement.txt");
        assert_eq!(safe_file_name("Zoë's contract.pdf", 7), "Zoë's contract.pdf");
        let long = format!("{}.pdf", "x".repeat(500));
        let safe = safe_file_name(&long, 7);
        assert_eq!(safe.chars().count(), 120);
        assert!(safe.ends_with(".pdf"));
        for hostile in ["../x", "a/../../b", "\\\\server\\share", "./.", "...", " / "] {
            let s = safe_file_name(hostile, 1);
            assert!(!s.contains('/') && !s.contains('\\') && !s.starts_with('.') && !s.is_empty(), "{hostile:?} -> {s:?}");
        }
    }

    #[test]
    fn names_in_one_folder_are_unique_ignoring_case() {
        let mut used = HashSet::new();
        assert_eq!(unique_name("a.pdf", &mut used), "a.pdf");
        assert_eq!(unique_name("A.pdf", &mut used), "A (2).pdf");
        assert_eq!(unique_name("a.pdf", &mut used), "a (3).pdf");
        assert_eq!(unique_name("a (2).pdf", &mut used), "a (2) (2).pdf");
        assert_eq!(unique_name("notes", &mut used), "notes");
        assert_eq!(unique_name("notes", &mut used), "notes (2)");
    }
}
