//! The `ltree` materialised path of an organisation, as text in Rust.

use std::io::Write;

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{IsNull, Output, ToSql};

use crate::schema::sql_types::Ltree;

/// Version byte of PostgreSQL's binary `ltree` format, which is otherwise the text form.
const LTREE_BINARY_VERSION: u8 = 1;

/// Dot-separated ids from the root down to the organisation itself.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Ltree)]
pub struct TreePath(pub String);

impl TreePath {
    /// The path of a child with `label` under this path.
    pub fn child(&self, label: &str) -> TreePath {
        TreePath(format!("{}.{label}", self.0))
    }

    /// Whether this is the path of an organisation at the top of the tree.
    pub fn is_top(&self) -> bool {
        !self.0.contains('.')
    }

    /// Whether this node lies in the subtree rooted at `root` (the root itself included).
    pub fn is_within(&self, root: &TreePath) -> bool {
        self.0 == root.0 || (self.0.starts_with(&root.0) && self.0.as_bytes().get(root.0.len()) == Some(&b'.'))
    }
}

impl ToSql<Ltree, Pg> for TreePath {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        out.write_all(&[LTREE_BINARY_VERSION])?;
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Ltree, Pg> for TreePath {
    fn from_sql(value: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&LTREE_BINARY_VERSION, text)) => Ok(TreePath(std::str::from_utf8(text)?.to_owned())),
            _ => Err("unsupported ltree binary format".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TreePath;

    #[test]
    fn subtrees_follow_whole_labels() {
        let root = TreePath("a.b".into());
        assert!(TreePath("a.b".into()).is_within(&root));
        assert!(TreePath("a.b.c".into()).is_within(&root));
        assert!(!TreePath("a.bc".into()).is_within(&root));
        assert!(!TreePath("a".into()).is_within(&root));
        assert!(TreePath("a".into()).is_top());
        assert!(!root.is_top());
        assert!(root.is_within(&TreePath("a".into())));
    }
}
