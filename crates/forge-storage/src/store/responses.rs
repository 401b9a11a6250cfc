//! Stored Responses API turns (`previous_response_id`). The conversation is opaque JSON here:
//! the server owns its shape. A response is only visible to the user who created it.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::db::with_conn;
use crate::rows::now;
use crate::schema::stored_responses;
use crate::{StorageError, Store};

impl Store {
    /// Saves (or replaces) the conversation after response `id`.
    pub async fn save_response(
        &self,
        user_id: i64,
        id: &str,
        model: &str,
        conversation: &str,
    ) -> Result<(), StorageError> {
        let (id, model, conversation, at) = (
            id.to_owned(),
            model.to_owned(),
            conversation.to_owned(),
            now(),
        );
        with_conn!(self.db(), |conn| {
            diesel::delete(stored_responses::table.find(&id))
                .execute(conn)
                .await?;
            diesel::insert_into(stored_responses::table)
                .values((
                    stored_responses::id.eq(&id),
                    stored_responses::user_id.eq(user_id),
                    stored_responses::model.eq(&model),
                    stored_responses::conversation.eq(&conversation),
                    stored_responses::created_at.eq(at),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// The stored conversation of response `id`, if it exists and belongs to `user_id`.
    pub async fn load_response(
        &self,
        user_id: i64,
        id: &str,
    ) -> Result<Option<String>, StorageError> {
        let id = id.to_owned();
        with_conn!(self.db(), |conn| {
            let row: Option<String> = stored_responses::table
                .filter(stored_responses::id.eq(&id))
                .filter(stored_responses::user_id.eq(user_id))
                .select(stored_responses::conversation)
                .first(conn)
                .await
                .optional()?;
            Ok(row)
        })
    }

    /// Retention: drops responses created before `cutoff`; returns how many went.
    pub async fn delete_responses_before(
        &self,
        cutoff: NaiveDateTime,
    ) -> Result<usize, StorageError> {
        with_conn!(self.db(), |conn| {
            let n = diesel::delete(
                stored_responses::table.filter(stored_responses::created_at.lt(cutoff)),
            )
            .execute(conn)
            .await?;
            Ok(n)
        })
    }
}
