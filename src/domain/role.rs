//! The two roles of an account's users (R1, R11: only admins delete and restore).

use super::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(InvalidInput(format!(
                "Unknown role \"{}\": use admin or user.",
                super::ids::truncate_for_message(other)
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Admin => "Admin",
            Role::User => "User",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_others() {
        assert_eq!(Role::parse("admin").unwrap(), Role::Admin);
        assert_eq!(Role::parse(Role::User.as_str()).unwrap(), Role::User);
        assert!(Role::parse("Admin").is_err());
        assert!(Role::parse("root").is_err());
    }
}
