//! Which caller owns an object that lives upstream (an OpenAI file or batch), and on which
//! provider key. The id is the provider's; Forge only answers calls naming an id for the
//! owner that created it (or, for a batch's output files, the batch's owner), so two users
//! sharing one upstream account never see each other's objects.

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::db::with_conn;
use crate::rows::now;
use crate::schema::upstream_objects;
use crate::{StorageError, Store};

/// Who owns an object: a user, or a static forge.toml key (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectOwner {
    User(i64),
    StaticKey(String),
}

impl ObjectOwner {
    fn column(&self) -> String {
        match self {
            ObjectOwner::User(id) => format!("user:{id}"),
            ObjectOwner::StaticKey(name) => format!("static:{name}"),
        }
    }

    fn user_id(&self) -> Option<i64> {
        match self {
            ObjectOwner::User(id) => Some(*id),
            ObjectOwner::StaticKey(_) => None,
        }
    }
}

/// One recorded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamObject {
    /// The provider's id (`file-...`, `batch_...`).
    pub id: String,
    /// `file` or `batch`.
    pub kind: String,
    /// Lowercase provider name.
    pub provider: String,
    /// The user's provider key; `None`: the forge.toml provider named `provider`.
    pub provider_key_id: Option<i64>,
}

impl Store {
    /// Records `object` as `owner`'s; recording it again (a batch seen twice) changes nothing.
    pub async fn record_upstream_object(
        &self,
        owner: &ObjectOwner,
        object: &UpstreamObject,
    ) -> Result<(), StorageError> {
        let (column, user_id, object, at) =
            (owner.column(), owner.user_id(), object.clone(), now());
        with_conn!(self.db(), |conn| {
            diesel::insert_into(upstream_objects::table)
                .values((
                    upstream_objects::owner.eq(&column),
                    upstream_objects::object_id.eq(&object.id),
                    upstream_objects::kind.eq(&object.kind),
                    upstream_objects::user_id.eq(user_id),
                    upstream_objects::provider.eq(&object.provider),
                    upstream_objects::provider_key_id.eq(object.provider_key_id),
                    upstream_objects::created_at.eq(at),
                ))
                .on_conflict((upstream_objects::owner, upstream_objects::object_id))
                .do_nothing()
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// `owner`'s object `id` of `kind`, if it recorded one.
    pub async fn find_upstream_object(
        &self,
        owner: &ObjectOwner,
        kind: &str,
        id: &str,
    ) -> Result<Option<UpstreamObject>, StorageError> {
        let (column, kind, id) = (owner.column(), kind.to_owned(), id.to_owned());
        with_conn!(self.db(), |conn| {
            let row: Option<(String, String, String, Option<i64>)> = upstream_objects::table
                .filter(upstream_objects::owner.eq(&column))
                .filter(upstream_objects::object_id.eq(&id))
                .filter(upstream_objects::kind.eq(&kind))
                .select((
                    upstream_objects::object_id,
                    upstream_objects::kind,
                    upstream_objects::provider,
                    upstream_objects::provider_key_id,
                ))
                .first(conn)
                .await
                .optional()?;
            Ok(
                row.map(|(id, kind, provider, provider_key_id)| UpstreamObject {
                    id,
                    kind,
                    provider,
                    provider_key_id,
                }),
            )
        })
    }

    /// The ids of `owner`'s objects of `kind` on `provider`, to filter an upstream listing.
    pub async fn upstream_object_ids(
        &self,
        owner: &ObjectOwner,
        kind: &str,
        provider: &str,
    ) -> Result<Vec<String>, StorageError> {
        let (column, kind, provider) = (owner.column(), kind.to_owned(), provider.to_owned());
        with_conn!(self.db(), |conn| {
            let ids: Vec<String> = upstream_objects::table
                .filter(upstream_objects::owner.eq(&column))
                .filter(upstream_objects::kind.eq(&kind))
                .filter(upstream_objects::provider.eq(&provider))
                .select(upstream_objects::object_id)
                .load(conn)
                .await?;
            Ok(ids)
        })
    }

    /// Forgets `owner`'s object `id` (deleted upstream); whether there was one.
    pub async fn forget_upstream_object(
        &self,
        owner: &ObjectOwner,
        id: &str,
    ) -> Result<bool, StorageError> {
        let (column, id) = (owner.column(), id.to_owned());
        with_conn!(self.db(), |conn| {
            let n = diesel::delete(
                upstream_objects::table
                    .filter(upstream_objects::owner.eq(&column))
                    .filter(upstream_objects::object_id.eq(&id)),
            )
            .execute(conn)
            .await?;
            Ok(n > 0)
        })
    }
}
