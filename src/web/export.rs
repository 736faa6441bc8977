//! E1: CSV export of one contact, a selection, or everything matching a filter,
//! streamed a page at a time so memory stays flat at a million rows.

use super::error::WebResult;
use super::form::Fields;
use super::session::CurrentUser;
use crate::domain::{AccountId, Selection};
use crate::repo::{ContactRow, Repo};
use actix_web::web::Bytes;
use actix_web::{web, HttpResponse};

const EXPORT_PAGE: i64 = 2000;
pub const CSV_HEADER: [&str; 8] = ["id", "first_name", "last_name", "email", "phone", "company", "tags", "created_at"];

pub(crate) fn csv_chunk(rows: &[ContactRow], header: bool) -> Result<Bytes, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 120));
    if header {
        w.write_record(CSV_HEADER)?;
    }
    for r in rows {
        w.write_record([
            r.id.to_string().as_str(),
            &neutralize(&r.first_name),
            &neutralize(&r.last_name),
            &neutralize(r.email.as_deref().unwrap_or("")),
            &neutralize(r.phone.as_deref().unwrap_or("")),
            &neutralize(r.company.as_deref().unwrap_or("")),
            &neutralize(&r.tags.join(";")),
            &super::contacts::rfc3339(r.created()),
        ])?;
    }
    w.flush()?;
    Ok(Bytes::from(w.into_inner().map_err(|e| e.into_error())?))
}

/// What makes a spreadsheet read a cell as a formula: `=`, `+`, `-` and `@` at its
/// start, and tab or carriage return, which some programs drop before reading the rest.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The guard: a leading apostrophe keeps a hostile cell inert (`=HYPERLINK(…)` stays
/// text). A phone number such as "+1 555 0100" goes out as it is: a sign followed only
/// by digits, spaces and `( ) - . /` names no function and no cell, so a spreadsheet
/// cannot run anything from it, and the number stays readable and dialable.
///
/// The importer takes one apostrophe off a cell that starts with an apostrophe and one
/// of [`FORMULA_START`] or another apostrophe ([`unguard`]); so that this gives back
/// exactly what was exported, a value that itself starts that way is guarded too.
pub(crate) fn neutralize(s: &str) -> String {
    let mut chars = s.chars();
    let needs_guard = match chars.next() {
        Some('+' | '-') => !is_phone_number(chars.as_str()),
        Some(c) if FORMULA_START.contains(&c) => true,
        Some('\'') => starts_guarded(chars.as_str()),
        _ => false,
    };
    if needs_guard {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// What follows the sign of a phone number: digits, with spaces and `( ) - . /` between.
fn is_phone_number(rest: &str) -> bool {
    rest.chars().any(|c| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.' | '/'))
}

/// Whether `rest`, the text after a leading apostrophe, is what [`neutralize`] guarded.
fn starts_guarded(rest: &str) -> bool {
    rest.starts_with(FORMULA_START) || rest.starts_with('\'')
}

/// The value of a CSV cell as [`neutralize`] wrote it: one guarding apostrophe taken
/// off (also from exports of earlier versions, which guarded phone numbers too).
pub(crate) fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_guarded(rest) => rest,
        _ => cell,
    }
}

struct ExportState {
    repo: Repo,
    account: AccountId,
    sel: Selection,
    after: i64,
    first: bool,
    done: bool,
}

/// `GET /contacts/export.csv`: the same selection parameters as delete; for
/// `select_all` without `as_of`, "as of now".
pub async fn export(CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let sel = f.selection(Some(repo.now()))?;
    let name = match &sel {
        Selection::Ids(ids) if ids.len() == 1 => format!("contact-{}.csv", ids[0]),
        Selection::Ids(_) => "contacts-selected.csv".to_string(),
        Selection::AllMatching { filter, .. } => format!("contacts-{}.csv", super::contacts::filter_slug(filter)),
    };
    let state = ExportState { repo: repo.get_ref().clone(), account: user.account_id, sel, after: 0, first: true, done: false };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        match st.repo.selection_page(st.account, &st.sel, st.after, EXPORT_PAGE).await {
            Ok(rows) => {
                if (rows.len() as i64) < EXPORT_PAGE {
                    st.done = true;
                }
                if let Some(last) = rows.last() {
                    st.after = last.id;
                }
                let chunk = csv_chunk(&rows, st.first).map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()));
                st.first = false;
                Some((chunk, st))
            }
            Err(e) => {
                // The status line has gone out already: end the stream with an error so
                // the download is seen as broken rather than silently short.
                tracing::error!(error = %e, "export failed midway");
                st.done = true;
                Some((Err(actix_web::error::ErrorInternalServerError("export failed")), st))
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::{neutralize, unguard};

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("-Ana"), "'-Ana");
        assert_eq!(neutralize("+A1"), "'+A1");
        assert_eq!(neutralize("-2+3"), "'-2+3");
        assert_eq!(neutralize("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(neutralize("\t=1"), "'\t=1");
        assert_eq!(neutralize("+"), "'+");
        assert_eq!(neutralize("Jane"), "Jane");
        assert_eq!(neutralize(""), "");
    }

    #[test]
    fn phone_numbers_go_out_unguarded() {
        for phone in ["+1 555 0100", "+44 (0)20 7946 0958", "+33.1.23.45.67.89", "-555-0100", "+49/30/1234"] {
            assert_eq!(neutralize(phone), phone);
        }
        // an extension names a cell (X12): guarded
        assert_eq!(neutralize("+1 555 0100 x12"), "'+1 555 0100 x12");
    }

    #[test]
    fn every_value_comes_back_from_its_export() {
        for v in [
            "=HYPERLINK(\"x\")", "-Ana", "+1 555 0100", "@x", "O'Brien", "'Tis", "'=quoted", "''=twice", "'", "''", "'-", "Zoë", "",
        ] {
            assert_eq!(unguard(&neutralize(v)), v, "{v:?} exported as {:?}", neutralize(v));
        }
    }

    #[test]
    fn the_guard_an_earlier_export_put_on_a_phone_number_comes_off() {
        assert_eq!(unguard("'+1 555 0100"), "+1 555 0100");
        assert_eq!(unguard("'Tis"), "'Tis");
    }
}
