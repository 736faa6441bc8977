//! The order of the contacts list: a column and a direction, parsed from the `sort`
//! query field (`name`, `-name`, `email`, `-company`, `created`, …; a leading `-` means
//! descending). The default is the newest contacts first.

use super::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    Name,
    Email,
    Company,
    /// When the contact was added: its id, which the database hands out in the order
    /// contacts are added (and `created_at` is written at that same moment).
    Created,
}

impl SortColumn {
    pub const ALL: [SortColumn; 4] = [SortColumn::Name, SortColumn::Email, SortColumn::Company, SortColumn::Created];

    pub fn as_str(self) -> &'static str {
        match self {
            SortColumn::Name => "name",
            SortColumn::Email => "email",
            SortColumn::Company => "company",
            SortColumn::Created => "created",
        }
    }

    /// The direction a first click on the column's header sorts by: A to Z for text,
    /// newest first for dates.
    pub fn first_direction_descending(self) -> bool {
        matches!(self, SortColumn::Created)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListOrder {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for ListOrder {
    fn default() -> Self {
        ListOrder::NEWEST_FIRST
    }
}

impl ListOrder {
    pub const NEWEST_FIRST: ListOrder = ListOrder { column: SortColumn::Created, descending: true };

    pub fn new(column: SortColumn, descending: bool) -> Self {
        ListOrder { column, descending }
    }

    /// `None` or blank is the default order; anything else must name a column.
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidInput> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(ListOrder::default());
        };
        let (descending, name) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        SortColumn::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .map(|column| ListOrder { column, descending })
            .ok_or_else(|| InvalidInput::new("Sort the list by name, email, company or created (add a leading - for descending)."))
    }

    /// The query value: `name`, `-created`, …
    pub fn param(self) -> String {
        format!("{}{}", if self.descending { "-" } else { "" }, self.column.as_str())
    }

    pub fn is_default(self) -> bool {
        self == ListOrder::default()
    }

    pub fn reversed(self) -> Self {
        ListOrder { column: self.column, descending: !self.descending }
    }

    /// The order a click on `column`'s header asks for: the other direction when the
    /// list is sorted by it already, else the column's first direction.
    pub fn toggled_to(self, column: SortColumn) -> Self {
        if self.column == column {
            self.reversed()
        } else {
            ListOrder { column, descending: column.first_direction_descending() }
        }
    }

    /// "name, A to Z", "created, newest first".
    pub fn describe(self) -> String {
        let dir = match (self.column, self.descending) {
            (SortColumn::Created, true) => "newest first",
            (SortColumn::Created, false) => "oldest first",
            (_, false) => "A to Z",
            (_, true) => "Z to A",
        };
        format!("{}, {dir}", self.column.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_and_directions() {
        assert_eq!(ListOrder::parse(None).unwrap(), ListOrder::NEWEST_FIRST);
        assert_eq!(ListOrder::parse(Some(" ")).unwrap(), ListOrder::NEWEST_FIRST);
        assert_eq!(ListOrder::parse(Some("name")).unwrap(), ListOrder::new(SortColumn::Name, false));
        assert_eq!(ListOrder::parse(Some("-company")).unwrap(), ListOrder::new(SortColumn::Company, true));
        assert_eq!(ListOrder::parse(Some("created")).unwrap(), ListOrder::new(SortColumn::Created, false));
        for bad in ["Name", "phone", "--name", "-", "name;drop", "id"] {
            assert!(ListOrder::parse(Some(bad)).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn a_header_click_flips_its_own_column_and_starts_others_in_their_first_direction() {
        let by_name = ListOrder::new(SortColumn::Name, false);
        assert_eq!(by_name.toggled_to(SortColumn::Name), ListOrder::new(SortColumn::Name, true));
        assert_eq!(by_name.toggled_to(SortColumn::Created), ListOrder::NEWEST_FIRST);
        assert_eq!(ListOrder::NEWEST_FIRST.toggled_to(SortColumn::Created), ListOrder::new(SortColumn::Created, false));
        assert_eq!(ListOrder::NEWEST_FIRST.toggled_to(SortColumn::Email), ListOrder::new(SortColumn::Email, false));
        assert_eq!(ListOrder::parse(Some(&by_name.reversed().param())).unwrap(), by_name.reversed());
        assert_eq!(ListOrder::NEWEST_FIRST.describe(), "created, newest first");
        assert_eq!(ListOrder::new(SortColumn::Company, true).describe(), "company, Z to A");
    }
}
