//! R5: a deletion needs the confirmation text `DELETE`, exactly.

use super::InvalidInput;

/// Proof that the admin typed `DELETE`. Only [`DeleteConfirmation::parse`] makes one,
/// so a deleting handler cannot forget the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteConfirmation(());

impl DeleteConfirmation {
    pub const TEXT: &'static str = "DELETE";

    pub fn parse(typed: &str) -> Result<Self, InvalidInput> {
        if typed == Self::TEXT {
            Ok(DeleteConfirmation(()))
        } else {
            Err(InvalidInput::new(
                "Type DELETE (in capital letters, nothing else) to confirm the deletion.",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_text_confirms() {
        assert!(DeleteConfirmation::parse("DELETE").is_ok());
        for bad in ["delete", "Delete", "DELETE ", " DELETE", "", "DELETED", "DEL ETE"] {
            assert!(DeleteConfirmation::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
