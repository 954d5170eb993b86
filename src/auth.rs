//! Authentication and authorisation: bearer tokens, roles, subtree scope and rate limits.
//!
//! Every `/api/v1` handler takes an [`Actor`]; extracting it checks the token (401), applies the rate limit (429)
//! and carries the role and scope that the handler consults through the methods below, so no handler
//! re-implements a rule.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::{ready, Ready};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::ids::OrganisationId;
use crate::domain::text_enum;
use crate::error::ApiError;
use crate::gate::Authentication;
use crate::request_id::RequestId;

text_enum! {
    /// What a token may do.
    #[schema(example = "editor")]
    Role {
        /// Everything, including tokens and the audit trail.
        Admin => "admin",
        /// Read and write inside the subtree of its organisation.
        Editor => "editor",
        /// Read only, inside the subtree of its organisation, or everywhere when it has none.
        Viewer => "viewer",
    }
}

/// The prefix that makes a partybase token recognisable (in logs, secret scanners, configuration files).
pub const TOKEN_PREFIX: &str = "pb_";

/// A new random token: the prefix and 256 random bits.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator is unavailable");
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token. Tokens are long random strings, not passwords, so one SHA-256 is enough and
/// costs microseconds.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name, recorded as the actor of every change it makes.
    pub name: String,
    pub role: Role,
    /// The organisation whose subtree the token is confined to; `None` for everything.
    pub organisation_id: Option<Uuid>,
}

/// The caller of a request: its identity and the request id that its changes are recorded with.
#[derive(Debug, Clone)]
pub struct Actor {
    pub identity: Identity,
    pub request_id: String,
}

impl Actor {
    /// The actor of work that no token asks for (the command line, the demo seed): it may do what an admin may,
    /// and the audit trail records it under `name`, with `request_id` naming the run.
    pub fn system(name: &str, request_id: &str) -> Self {
        Actor {
            identity: Identity {
                name: name.to_owned(),
                role: Role::Admin,
                organisation_id: None,
            },
            request_id: request_id.to_owned(),
        }
    }

    /// The subtree the actor may read, and change when its role writes at all (`None`: everything).
    pub fn scope(&self) -> Option<Uuid> {
        match self.identity.role {
            Role::Admin => None,
            Role::Editor | Role::Viewer => self.identity.organisation_id,
        }
    }

    /// Refuses roles that cannot write at all.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        match self.identity.role {
            Role::Admin | Role::Editor => Ok(()),
            Role::Viewer => Err(ApiError::Forbidden("a viewer token cannot change anything".into())),
        }
    }

    /// Refuses everyone but admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.identity.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden("only an admin token may do this".into())),
        }
    }

    /// Whether the sensitive member fields (national id, ethnicity, religion) may be shown to this actor.
    pub fn sees_sensitive_fields(&self) -> bool {
        matches!(self.identity.role, Role::Admin | Role::Editor)
    }

    /// The rule of who decides about an organisation: the committee above it. A writer may decide about an
    /// organisation strictly below its own (or about any, when it has no scope), never about the organisation
    /// its token is scoped to: that organisation's kind, place in the tree, dissolution and yearly grades are
    /// decided above it. The caller has already found the organisation within the actor's subtree.
    pub fn may_decide_about(&self, organisation_id: OrganisationId) -> Result<(), ApiError> {
        self.require_writer()?;
        if self.scope() == Some(organisation_id.0) {
            return Err(ApiError::Forbidden(
                "the committee above an organisation decides about it; its own token cannot".into(),
            ));
        }
        Ok(())
    }

    /// Refuses writes that only an actor without a scope may make.
    pub fn require_unscoped(&self, why: &str) -> Result<(), ApiError> {
        match self.scope() {
            None => Ok(()),
            Some(_) => Err(ApiError::Forbidden(why.to_owned())),
        }
    }
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    /// The caller as the gate in front of `/api/v1` found it (see [`crate::gate`]).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        let request_id = extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        ready(match extensions.get::<Authentication>() {
            Some(Authentication::Valid(identity)) => Ok(Actor {
                identity: identity.clone(),
                request_id,
            }),
            Some(Authentication::Refused(why)) => Err(ApiError::Unauthorized(why.clone())),
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "a route outside the gate asked for the caller"
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, organisation_id: Option<Uuid>) -> Actor {
        Actor {
            identity: Identity {
                name: "t".into(),
                role,
                organisation_id,
            },
            request_id: String::new(),
        }
    }

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }

    #[test]
    fn admins_see_everything_and_others_their_subtree() {
        let org = Some(Uuid::now_v7());
        assert_eq!(actor(Role::Admin, None).scope(), None);
        assert_eq!(actor(Role::Editor, org).scope(), org);
        assert_eq!(actor(Role::Viewer, org).scope(), org);
        assert_eq!(actor(Role::Viewer, None).scope(), None);
    }

    #[test]
    fn viewers_cannot_write_and_only_admins_administer() {
        let org = Some(Uuid::now_v7());
        assert!(actor(Role::Viewer, None).require_writer().is_err());
        assert!(actor(Role::Editor, org).require_writer().is_ok());
        assert!(actor(Role::Editor, org).require_admin().is_err());
        assert!(actor(Role::Admin, None).require_admin().is_ok());
        assert!(actor(Role::Editor, org).require_unscoped("x").is_err());
        assert!(actor(Role::Admin, None).require_unscoped("x").is_ok());
    }

    #[test]
    fn only_the_committee_above_decides_about_an_organisation() {
        let own = OrganisationId::new();
        let below = OrganisationId::new();
        assert!(actor(Role::Editor, Some(own.0)).may_decide_about(below).is_ok());
        let refused = actor(Role::Editor, Some(own.0)).may_decide_about(own).unwrap_err();
        assert!(matches!(refused, ApiError::Forbidden(_)));
        assert!(actor(Role::Viewer, Some(own.0)).may_decide_about(below).is_err());
        assert!(actor(Role::Viewer, None).may_decide_about(below).is_err());
        assert!(actor(Role::Admin, None).may_decide_about(own).is_ok());
    }

    #[test]
    fn sensitive_fields_are_for_admins_and_editors() {
        assert!(actor(Role::Admin, None).sees_sensitive_fields());
        assert!(actor(Role::Editor, Some(Uuid::now_v7())).sees_sensitive_fields());
        assert!(!actor(Role::Viewer, None).sees_sensitive_fields());
    }
}
