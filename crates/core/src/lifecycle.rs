//! The account state machine of SPEC §4, as decisions: given what exists and what the IdP asks,
//! what happens. States: Absent → Active ⇄ Preserved(idp); Active → Preserved(admin) → Active
//! (admin only). No SCIM call ever destroys an account.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreservedBy {
    Idp,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    Preserved(PreservedBy),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedBy {
    Manual,
    Scim,
}

impl PreservedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idp => "idp",
            Self::Admin => "admin",
        }
    }
}

impl AccountState {
    pub fn is_active(self) -> bool {
        self == Self::Active
    }

    /// `active` or `preserved`, as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Preserved(_) => "preserved",
        }
    }

    pub fn preserved_by(self) -> Option<PreservedBy> {
        match self {
            Self::Active => None,
            Self::Preserved(by) => Some(by),
        }
    }

    /// The state from its stored columns; `None` for a combination the schema forbids.
    pub fn from_columns(state: &str, preserved_by: Option<&str>) -> Option<Self> {
        match (state, preserved_by) {
            ("active", None) => Some(Self::Active),
            ("preserved", Some("idp")) => Some(Self::Preserved(PreservedBy::Idp)),
            ("preserved", Some("admin")) => Some(Self::Preserved(PreservedBy::Admin)),
            _ => None,
        }
    }
}

impl ManagedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Scim => "scim",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "manual" => Some(Self::Manual),
            "scim" => Some(Self::Scim),
            _ => None,
        }
    }
}

/// An account already holding the email a create names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub state: AccountState,
    pub managed_by: ManagedBy,
    /// Whether its SCIM id still answers (false after a DELETE retired it).
    pub scim_id_live: bool,
}

/// What a create (POST /Users) does, R-30.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateDecision {
    /// No account: evaluate the mappings, then create it in `initial`.
    Create { initial: AccountState },
    /// A manual account: SCIM takes it over; profile and storage are kept, mappings not run.
    Adopt { initial: AccountState },
    /// Preserved by the IdP (a deactivation or a DELETE): reactivated with profile and storage
    /// kept; under a new SCIM id when the old one was retired (RFC 7644 §3.6).
    Reactivate {
        initial: AccountState,
        new_scim_id: bool,
    },
    /// Preserved by an admin: 400 `mutability`, only an admin can bring it back.
    RefuseAdminPreserved,
    /// An active SCIM-managed account: 409 `uniqueness`.
    Conflict,
}

/// `active:false` in a create body makes the account Preserved(idp) from the start.
pub fn decide_create(existing: Option<Existing>, requested_active: bool) -> CreateDecision {
    let initial = if requested_active {
        AccountState::Active
    } else {
        AccountState::Preserved(PreservedBy::Idp)
    };
    match existing {
        None => CreateDecision::Create { initial },
        // An admin's preservation is deliberate: it wins over adoption too.
        Some(Existing {
            state: AccountState::Preserved(PreservedBy::Admin),
            ..
        }) => CreateDecision::RefuseAdminPreserved,
        Some(Existing {
            managed_by: ManagedBy::Manual,
            ..
        }) => CreateDecision::Adopt { initial },
        Some(Existing {
            state: AccountState::Preserved(PreservedBy::Idp),
            scim_id_live,
            ..
        }) => CreateDecision::Reactivate {
            initial,
            new_scim_id: !scim_id_live,
        },
        Some(Existing {
            state: AccountState::Active,
            managed_by: ManagedBy::Scim,
            scim_id_live: false,
        }) => {
            // An active account whose SCIM id was retired cannot exist (DELETE preserves);
            // treat it as preserved by the IdP rather than refuse the IdP forever.
            CreateDecision::Reactivate {
                initial,
                new_scim_id: true,
            }
        }
        Some(Existing {
            state: AccountState::Active,
            managed_by: ManagedBy::Scim,
            scim_id_live: true,
        }) => CreateDecision::Conflict,
    }
}

/// Why a change of `active` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// an admin preserved it; the IdP cannot reactivate it.
    AdminPreserved,
}

/// the state after PUT or PATCH sets `active`; `None` when it stays.
pub fn decide_active(
    current: AccountState,
    requested_active: bool,
) -> Result<Option<AccountState>, Refusal> {
    match (current, requested_active) {
        (AccountState::Active, true) | (AccountState::Preserved(_), false) => Ok(None),
        (AccountState::Active, false) => Ok(Some(AccountState::Preserved(PreservedBy::Idp))),
        (AccountState::Preserved(PreservedBy::Idp), true) => Ok(Some(AccountState::Active)),
        (AccountState::Preserved(PreservedBy::Admin), true) => Err(Refusal::AdminPreserved),
    }
}

/// a DELETE preserves the account (and retires its SCIM id); an admin's preservation is
/// kept as it is.
pub fn state_after_delete(current: AccountState) -> AccountState {
    match current {
        AccountState::Preserved(PreservedBy::Admin) => current,
        AccountState::Active | AccountState::Preserved(PreservedBy::Idp) => {
            AccountState::Preserved(PreservedBy::Idp)
        }
    }
}

/// An admin's preserve: any state becomes Preserved(admin), so the IdP cannot bring the account
/// back; `None` when it already is.
pub fn decide_admin_preserve(current: AccountState) -> Option<AccountState> {
    let preserved = AccountState::Preserved(PreservedBy::Admin);
    (current != preserved).then_some(preserved)
}

/// An admin's activate: a preserved account, whoever preserved it, becomes Active; `None` when
/// it already is.
pub fn decide_admin_activate(current: AccountState) -> Option<AccountState> {
    (current != AccountState::Active).then_some(AccountState::Active)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountState::{Active, Preserved};
    use PreservedBy::{Admin, Idp};

    fn existing(
        state: AccountState,
        managed_by: ManagedBy,
        scim_id_live: bool,
    ) -> Option<Existing> {
        Some(Existing {
            state,
            managed_by,
            scim_id_live,
        })
    }

    #[test]
    fn r30_create_decision_table() {
        use CreateDecision::*;
        assert_eq!(decide_create(None, true), Create { initial: Active });
        assert_eq!(
            decide_create(None, false),
            Create {
                initial: Preserved(Idp)
            },
            "active:false creates preserved"
        );
        assert_eq!(
            decide_create(existing(Active, ManagedBy::Manual, false), true),
            Adopt { initial: Active }
        );
        assert_eq!(
            decide_create(existing(Preserved(Idp), ManagedBy::Scim, true), true),
            Reactivate {
                initial: Active,
                new_scim_id: false
            }
        );
        assert_eq!(
            decide_create(existing(Preserved(Idp), ManagedBy::Scim, false), true),
            Reactivate {
                initial: Active,
                new_scim_id: true
            },
            "after a DELETE the old id stays retired"
        );
        assert_eq!(
            decide_create(existing(Preserved(Admin), ManagedBy::Scim, true), true),
            RefuseAdminPreserved
        );
        assert_eq!(
            decide_create(existing(Preserved(Admin), ManagedBy::Manual, false), true),
            RefuseAdminPreserved
        );
        assert_eq!(
            decide_create(existing(Active, ManagedBy::Scim, true), true),
            Conflict
        );
    }

    #[test]
    fn r34_r35_r36_active_transitions() {
        assert_eq!(decide_active(Active, false), Ok(Some(Preserved(Idp))));
        assert_eq!(decide_active(Preserved(Idp), true), Ok(Some(Active)));
        assert_eq!(
            decide_active(Preserved(Admin), true),
            Err(Refusal::AdminPreserved)
        );
        assert_eq!(decide_active(Active, true), Ok(None));
        assert_eq!(decide_active(Preserved(Admin), false), Ok(None));
        assert_eq!(decide_active(Preserved(Idp), false), Ok(None));
    }

    #[test]
    fn admin_preserve_and_activate_transitions() {
        assert_eq!(decide_admin_preserve(Active), Some(Preserved(Admin)));
        assert_eq!(
            decide_admin_preserve(Preserved(Idp)),
            Some(Preserved(Admin))
        );
        assert_eq!(decide_admin_preserve(Preserved(Admin)), None);
        assert_eq!(decide_admin_activate(Preserved(Admin)), Some(Active));
        assert_eq!(decide_admin_activate(Preserved(Idp)), Some(Active));
        assert_eq!(decide_admin_activate(Active), None);
    }

    #[test]
    fn stored_state_columns_round_trip() {
        for state in [Active, Preserved(Idp), Preserved(Admin)] {
            let by = state.preserved_by().map(PreservedBy::as_str);
            assert_eq!(AccountState::from_columns(state.name(), by), Some(state));
        }
        assert_eq!(AccountState::from_columns("active", Some("idp")), None);
    }

    #[test]
    fn r34_delete_preserves_and_never_destroys() {
        assert_eq!(state_after_delete(Active), Preserved(Idp));
        assert_eq!(state_after_delete(Preserved(Idp)), Preserved(Idp));
        assert_eq!(state_after_delete(Preserved(Admin)), Preserved(Admin));
    }
}
