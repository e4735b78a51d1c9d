//! API tokens as the database keeps them: the SHA-256 of each token, never
//! the token (see `auth`), with its kind, probe, merchant and revocation.

use sqlx::{AssertSqlSafe, Row};

use super::{Conditions, Param, Store, StoreError};

/// A stored token (its hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// `probe` or `admin`.
    pub kind: String,
    /// The probe a probe token belongs to.
    pub probe_id: Option<String>,
    /// The merchant, when given.
    pub merchant_id: Option<String>,
    /// Issue time (Unix ms).
    pub created_at: i64,
    /// Revocation time (Unix ms).
    pub revoked_at: Option<i64>,
}

/// Reads a [`TokenRow`] from a row of `SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at`.
macro_rules! token_row {
    ($r:expr) => {
        TokenRow {
            hash: $r.try_get(0)?,
            kind: $r.try_get(1)?,
            probe_id: $r.try_get(2)?,
            merchant_id: $r.try_get(3)?,
            created_at: $r.try_get(4)?,
            revoked_at: $r.try_get(5)?,
        }
    };
}

impl Store {
    /// Stores a new token's hash.
    pub async fn insert_token(&self, t: &TokenRow) -> Result<(), StoreError> {
        with_pool!(self, write, p => {
            sqlx::query("INSERT INTO tokens (hash, kind, probe_id, merchant_id, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&t.hash).bind(&t.kind).bind(&t.probe_id).bind(&t.merchant_id)
                .bind(t.created_at).bind(t.revoked_at)
                .execute(p).await?;
        });
        Ok(())
    }

    /// The live (unrevoked) token with this hash.
    pub async fn find_token(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let sql = "SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at FROM tokens \
                   WHERE hash = $1 AND revoked_at IS NULL";
        with_pool!(self, read, p => {
            let row = sqlx::query(sql).bind(hash).fetch_optional(p).await?;
            match row {
                None => Ok(None),
                Some(r) => Ok(Some(token_row!(r))),
            }
        })
    }

    /// Every token, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let sql = "SELECT hash, kind, probe_id, merchant_id, created_at, revoked_at FROM tokens \
                   ORDER BY created_at DESC, hash";
        with_pool!(self, read, p => {
            let rows = sqlx::query(sql).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(token_row!(r));
            }
            Ok(out)
        })
    }

    /// Revokes the live tokens whose hash starts with `hash_prefix` (1 to 64
    /// lower-case hex digits) and, when `probe` is given, belong to that
    /// probe. Returns how many were revoked. Refuses to run with neither
    /// selector, which would revoke every token.
    pub async fn revoke_tokens(
        &self,
        hash_prefix: Option<&str>,
        probe: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        if hash_prefix.is_none() && probe.is_none() {
            return Err(StoreError::Refused(
                "name the token (its id or the token itself) or the probe to revoke".into(),
            ));
        }
        if let Some(h) = hash_prefix
            && (h.is_empty()
                || h.len() > 64
                || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            // Checked here, so the LIKE pattern below holds no wildcard.
            return Err(StoreError::Refused(format!(
                "{h:?} is not a token id: give 1 to 64 lower-case hex digits from `stca2-probe token list`"
            )));
        }
        let mut c = Conditions::default();
        c.raw("revoked_at IS NULL");
        if let Some(h) = hash_prefix {
            c.push("hash LIKE ?", Param::Text(format!("{h}%")));
        }
        if let Some(p) = probe {
            c.push("probe_id = ?", Param::Text(p.to_string()));
        }
        c.params.push(Param::Int(now));
        let sql = format!(
            "UPDATE tokens SET revoked_at = ${}{}",
            c.params.len(),
            c.clause()
        );
        with_pool!(self, write, p => {
            let q = bind_all!(sqlx::query(AssertSqlSafe(sql)), c.params);
            Ok(q.execute(p).await?.rows_affected())
        })
    }
}
