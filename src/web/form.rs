//! Form and query fields as sent, repeated keys included (`ids=1&ids=2`). Parsing the
//! raw pairs never fails: each handler turns the fields into domain values, and any
//! value the domain refuses becomes a 400 with a message.

use super::error::AppError;
use crate::domain::{ContactFilter, ContactId, InvalidInput, Selection};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use std::future::Future;
use std::pin::Pin;

/// Largest request body accepted (a form with 10,000 ids fits comfortably).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Default, Clone)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn parse(bytes: &[u8]) -> Self {
        Fields(form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field that must be there and not blank.
    pub fn require(&self, name: &str, what: &str) -> Result<&str, AppError> {
        self.get(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| AppError::BadRequest(format!("{what} is missing.")))
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "on" | "yes"))
    }

    pub fn filter(&self) -> Result<ContactFilter, InvalidInput> {
        // No stored text holds control characters, and PostgreSQL refuses a NUL byte.
        if self.get("q").is_some_and(|q| q.trim().chars().any(char::is_control)) {
            return Err(InvalidInput::new("The search text holds control characters; type plain text."));
        }
        ContactFilter::parse(self.get("q"), self.get("tag"))
    }

    /// The selection of the delete, tag and export forms (SPEC §4): repeated `ids`, or
    /// `select_all=true` with `q`, `tag`, `as_of` and repeated `exclude`.
    /// `default_as_of` lets a read-only export mean "as of now" when `as_of` is absent.
    pub fn selection(&self, default_as_of: Option<chrono::DateTime<chrono::Utc>>) -> Result<Selection, InvalidInput> {
        if self.flag("select_all") {
            if self.all("ids").any(|v| !v.is_empty()) {
                return Err(InvalidInput::new("Send either ids or select_all, not both."));
            }
            let as_of = match (self.get("as_of").filter(|s| !s.trim().is_empty()), default_as_of) {
                (None, Some(now)) => now,
                (raw, _) => Selection::parse_as_of(raw)?,
            };
            let exclude = Selection::parse_ids(self.all("exclude").filter(|v| !v.is_empty()))?;
            Selection::all_matching(self.filter()?, as_of, exclude)
        } else {
            Selection::ids(Selection::parse_ids(self.all("ids").filter(|v| !v.is_empty()))?)
        }
    }

    /// The selection's own fields as a query string ("?ids=1&ids=2", "?select_all=true&q=…"),
    /// for a link to the same contacts (their export).
    pub fn selection_query(&self) -> String {
        const KEYS: [&str; 6] = ["ids", "select_all", "q", "tag", "as_of", "exclude"];
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.0.iter().filter(|(k, _)| KEYS.contains(&k.as_str())) {
            q.append_pair(k, v);
        }
        format!("?{}", q.finish())
    }

    pub fn ids(&self) -> Result<Vec<ContactId>, InvalidInput> {
        let ids = Selection::parse_ids(self.all("ids").filter(|v| !v.is_empty()))?;
        if ids.is_empty() {
            return Err(InvalidInput::new("Select at least one contact."));
        }
        Ok(ids)
    }
}

/// Fields of the request body (POST) or of the query string (GET).
impl FromRequest for Fields {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.method() == actix_web::http::Method::GET {
            let f = Fields::parse(req.query_string().as_bytes());
            return Box::pin(async move { Ok(f) });
        }
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| AppError::BadRequest("The request body could not be read.".into()))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(AppError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fields::parse(&body))
        })
    }
}
