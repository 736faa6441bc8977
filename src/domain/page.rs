//! Pages of a list read by keyset: where a page starts and how long it is.

use super::ContactId;

/// Where a page of the list starts. Keyset cursors keep the last page as fast as the
/// first at a million contacts: no `OFFSET` walks the rows before the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    First,
    /// The page of contacts older than (listed after) this id.
    After(ContactId),
    /// The page of contacts newer than (listed before) this id.
    Before(ContactId),
    Last,
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub cursor: Cursor,
    pub size: u32,
}

impl PageRequest {
    pub const SIZES: [u32; 4] = [25, 50, 100, 200];

    pub fn first(size: u32) -> Self {
        PageRequest { cursor: Cursor::First, size }
    }
}
